#include "engine/air/trace.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/field/field_codec.h"
#include "engine/hash/keccak.h"

namespace prover::air {
namespace {

constexpr char kMagic[8] = {'P', 'R', 'V', 'T', 'R', 'A', 'C', 'E'};
constexpr uint32_t kVersion = 1;

void PutU32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
uint32_t GetU32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

}  // namespace

std::vector<uint8_t> EncodeTrace(const Trace& trace) {
  std::vector<uint8_t> out(kMagic, kMagic + 8);
  PutU32(out, kVersion);
  PutU32(out, static_cast<uint32_t>(trace.tables.size()));
  size_t values = 0;
  for (const TableTrace& t : trace.tables) {
    PutU32(out, t.num_columns());
    PutU32(out, static_cast<uint32_t>(t.log_rows()));
    values += size_t{t.num_columns()} * t.rows();
  }
  size_t pos = out.size();
  out.resize(pos + 8 * values + 32);
  for (const TableTrace& t : trace.tables) {
    for (uint32_t c = 0; c < t.num_columns(); ++c) {
      const Fp* col = t.column(c);
      for (size_t r = 0; r < t.rows(); ++r, pos += 8) StoreU64LE(col[r].value(), &out[pos]);
    }
  }
  Digest d = Keccak256(std::span<const uint8_t>(out.data(), pos));
  std::memcpy(&out[pos], d.data(), 32);
  return out;
}

absl::StatusOr<Trace> DecodeTrace(std::span<const uint8_t> bytes, const TraceLimits& limits) {
  auto fail = [](const std::string& m) { return absl::InvalidArgumentError("trace: " + m); };
  if (bytes.size() < 16 + 32 || std::memcmp(bytes.data(), kMagic, 8) != 0) {
    return fail("not a trace file (bad magic or too short)");
  }
  if (GetU32(&bytes[8]) != kVersion) {
    return fail(absl::StrCat("unsupported version ", GetU32(&bytes[8])));
  }
  const uint32_t num_tables = GetU32(&bytes[12]);
  if (num_tables == 0 || num_tables > limits.max_tables) {
    return fail(
        absl::StrCat("tables: ", num_tables, " tables; must be in [1, ", limits.max_tables, "]"));
  }
  size_t pos = 16;
  if (bytes.size() < pos + 8 * size_t{num_tables} + 32) return fail("truncated table headers");
  std::vector<std::pair<uint32_t, int>> shapes;
  uint64_t values = 0;
  for (uint32_t t = 0; t < num_tables; ++t, pos += 8) {
    const uint32_t cols = GetU32(&bytes[pos]);
    const uint32_t log_rows = GetU32(&bytes[pos + 4]);
    const std::string path = absl::StrCat("tables[", t, "]");
    if (cols == 0 || cols > limits.max_columns) {
      return fail(
          absl::StrCat(path, ".num_columns: ", cols, " outside [1, ", limits.max_columns, "]"));
    }
    if (log_rows > static_cast<uint32_t>(limits.max_log_rows)) {
      return fail(absl::StrCat(path, ".log_rows: ", log_rows, " above ", limits.max_log_rows));
    }
    values += uint64_t{cols} << log_rows;
    if (values > limits.max_values) {
      return fail(absl::StrCat(path, ": more than ", limits.max_values, " values in all"));
    }
    shapes.emplace_back(cols, static_cast<int>(log_rows));
  }
  if (bytes.size() != pos + 8 * values + 32) {
    return fail(absl::StrCat("expected ", pos + 8 * values + 32, " bytes for these shapes, got ",
                             bytes.size()));
  }
  Digest want = Keccak256(bytes.first(bytes.size() - 32));
  if (std::memcmp(want.data(), &bytes[bytes.size() - 32], 32) != 0) {
    return fail("checksum mismatch (the file is corrupted)");
  }
  Trace trace;
  for (uint32_t t = 0; t < num_tables; ++t) {
    TableTrace tt(shapes[t].first, shapes[t].second);
    for (uint32_t c = 0; c < tt.num_columns(); ++c) {
      Fp* col = tt.column(c);
      for (size_t r = 0; r < tt.rows(); ++r, pos += 8) {
        const uint64_t v = LoadU64LE(&bytes[pos]);
        if (v >= Fp::kModulus) {
          return fail(absl::StrCat("tables[", t, "].columns[", c, "][", r,
                                   "]: non-canonical field element ", v));
        }
        col[r] = Fp::FromCanonical(v);
      }
    }
    trace.tables.push_back(std::move(tt));
  }
  return trace;
}

}  // namespace prover::air
