// Traces: one column-major matrix of base-field values per table, and their binary format.
//
// Binary trace format, version 1 (all integers little-endian):
//   8 bytes  magic "PRVTRACE"
//   u32      version (1)
//   u32      number of tables T
//   T times: u32 number of columns C_t, u32 log2 of the number of rows L_t
//   T times: C_t columns of 2^L_t values, each a canonical u64 (< p), column by column
//   32 bytes Keccak-256 of every preceding byte
// Decoding rejects a wrong magic, version or checksum, sizes over the limits, any value
// >= p (with its path, e.g. "tables[1].columns[3][17]") and missing or trailing bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/aligned_buffer.h"
#include "engine/field/goldilocks.h"

namespace prover::air {

class TableTrace {
 public:
  TableTrace() = default;
  TableTrace(uint32_t num_columns, int log_rows)
      : num_columns_(num_columns), log_rows_(log_rows), data_(size_t{num_columns} << log_rows) {
    for (Fp& x : data_) x = Fp::Zero();
  }

  uint32_t num_columns() const { return num_columns_; }
  int log_rows() const { return log_rows_; }
  size_t rows() const { return size_t{1} << log_rows_; }
  Fp* column(uint32_t c) { return data_.data() + (size_t{c} << log_rows_); }
  const Fp* column(uint32_t c) const { return data_.data() + (size_t{c} << log_rows_); }
  Fp& at(uint32_t c, size_t r) { return column(c)[r]; }
  Fp at(uint32_t c, size_t r) const { return column(c)[r]; }
  std::vector<const Fp*> column_pointers() const {
    std::vector<const Fp*> p(num_columns_);
    for (uint32_t c = 0; c < num_columns_; ++c) p[c] = column(c);
    return p;
  }

 private:
  uint32_t num_columns_ = 0;
  int log_rows_ = 0;
  AlignedBuffer<Fp> data_;
};

struct Trace {
  std::vector<TableTrace> tables;
};

struct TraceLimits {
  uint32_t max_tables = 64;
  uint32_t max_columns = 4096;
  int max_log_rows = 26;
  uint64_t max_values = uint64_t{1} << 31;  // all tables together
};

std::vector<uint8_t> EncodeTrace(const Trace& trace);
absl::StatusOr<Trace> DecodeTrace(std::span<const uint8_t> bytes,
                                  const TraceLimits& limits = TraceLimits());

}  // namespace prover::air
