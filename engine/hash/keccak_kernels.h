// Internal: the per-ISA batch Keccak kernels behind keccak.h's dispatch.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/base/cpu_features.h"

namespace prover::keccak_internal {

struct KeccakKernels {
  int lanes;
  // out + 32*i receives the digest of message i (see Keccak256Batch).
  void (*batch)(const uint8_t* in, size_t stride, size_t len, size_t count, uint8_t* out);
  // out + 32*i receives the digest of row row_begin + i (see Keccak256ColumnRows).
  void (*column_rows)(const uint64_t* const* columns, size_t num_columns, size_t row_begin,
                      size_t count, uint8_t* out);
};

const KeccakKernels& PortableKernels();
const KeccakKernels& Avx2Kernels();    // defined only in builds with the AVX2 unit
const KeccakKernels& Avx512Kernels();  // defined only in builds with the AVX-512 unit
const KeccakKernels& KernelsFor(SimdLevel level);

}  // namespace prover::keccak_internal
