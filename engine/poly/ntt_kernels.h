// Internal: per-ISA NTT kernels behind poly/ntt.h and poly/lde.h. Each works on one column
// and runs on the calling thread; ntt.cc and lde.cc split the work into tasks and choose
// the kernel set.
//
// Notation (see ntt.h): n = n1 * n2, index i = i1 * n2 + i2. `stage` is a twiddle table
// with stage[h + j] = w_{2h}^j for every power of two h below the largest sub-transform
// (one table serves all smaller sizes, since w_{2h} does not depend on n).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/base/cpu_features.h"
#include "engine/field/goldilocks.h"
#include "engine/poly/domain.h"

namespace prover::ntt_internal {

struct NttKernels {
  int lanes;  // lanes per block in phase A; the scratch block holds n1 * lanes values

  // In-place radix-2 DIF of a contiguous array of 2^log_m values, natural -> bit-reversed.
  void (*dif_contiguous)(Fp* a, int log_m, const Fp* stage);

  // Phase A, natural input: for lanes i2 .. i2 + lanes - 1, the size-n1 DIF over i1 of
  // src[i1 * n2 + i2 + l] (times scale_hi[i1] * scale_lo[i2 + l] when scale_hi is not
  // null), written to dst[p * n2 + i2 + l] with p = bitrev(k1) (DIF output order).
  void (*phase_a_natural)(const Fp* src, Fp* dst, int log_n1, int log_n2, size_t i2,
                          const Fp* stage, const Fp* scale_hi, const Fp* scale_lo, Fp* scratch);

  // Phase A, bit-reversed input: src holds a length-n vector in bit-reversed order, so the
  // values for lane i2 lie in row bitrev_{n2}(i2) (n1 values, in bit-reversed i1 order).
  // Scales by scale_hi[j], j the position within the row (pass scale_hi in that order),
  // runs the size-n1 DIT (bit-reversed in, natural out) and writes B[k1] to
  // dst[bitrev(k1) * n2 + i2 + l]. A factor depending on i2 alone commutes with this
  // transform, so callers apply it in phase B.
  void (*phase_a_bitrev)(const Fp* src, Fp* dst, int log_n1, int log_n2, size_t i2, const Fp* stage,
                         const Fp* scale_hi, Fp* scratch);

  // Phase B for one row: row[i2] *= c * r^i2 (skipped when both are one), then the
  // contiguous DIF.
  void (*phase_b_row)(Fp* row, int log_n2, Fp r, Fp c, const Fp* stage);

  // sum[i] = a[i] + b[i], diff[i] = a[i] - b[i], prod[i] = a[i] * b[i] with this path's
  // packed arithmetic (the tail below a multiple of `lanes` in scalar code).
  void (*elementwise)(const Fp* a, const Fp* b, size_t n, Fp* sum, Fp* diff, Fp* prod);
};

const NttKernels& PortableKernels();
const NttKernels& Avx2Kernels();
const NttKernels& Avx512Kernels();
const NttKernels& KernelsFor(SimdLevel level);

// The transforms' shared steps (ntt.cc), used by the coset LDE (lde.cc) too.
// Scratch for one phase-A block of `elements` values, reused by each thread.
Fp* Scratch(size_t elements);
// Natural -> bit-reversed DIF of each column (src may equal dst), scaled by `scale` when
// it is not one. Four-step above the direct-path threshold.
void DifNaturalToBitrev(const Domain& d, bool inverse, std::span<const Fp* const> src,
                        std::span<Fp* const> dst, Fp scale);

}  // namespace prover::ntt_internal
