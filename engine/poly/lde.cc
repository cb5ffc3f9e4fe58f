#include "engine/poly/lde.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/bits.h"
#include "engine/base/scratch_pool.h"
#include "engine/poly/domain.h"
#include "engine/poly/ntt.h"
#include "engine/poly/ntt_kernels.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"

namespace prover {

absl::Status Interpolate(std::span<Fp* const> columns, int log_n) {
  return InverseNtt(columns, log_n, Order::kNatural, Order::kNatural);
}

absl::Status CosetLde(std::span<const Fp* const> in, int log_n, int log_blowup, Fp shift,
                      std::span<Fp* const> out, const std::stop_token& stop) {
  using namespace ntt_internal;
  if (in.size() != out.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("lde: ", in.size(), " input columns but ", out.size(), " output columns"));
  }
  if (shift.IsZero()) return absl::InvalidArgumentError("lde: the coset offset must be non-zero");
  auto dom = DomainCache::Global().Get(DomainKey{log_n, log_blowup, shift.value()});
  if (!dom.ok()) return dom.status();
  const Domain& d = **dom;
  const size_t cols = in.size(), n = d.n(), blowup = d.blowup();
  if (cols == 0) return absl::OkStatus();

  // Bit-reversed coefficients (times n: the 1/n lives in the coset tables).
  ScratchPool::Lease coeffs = ScratchPool::Global().Acquire(cols * n);
  Fp* coeff_base = reinterpret_cast<Fp*>(coeffs.words());  // Fp is one canonical u64
  std::vector<Fp*> coeff_cols(cols);
  for (size_t c = 0; c < cols; ++c) coeff_cols[c] = coeff_base + c * n;
  DifNaturalToBitrev(d, /*inverse=*/true, in, coeff_cols, Fp::One());
  const auto stopped = [&] { return absl::CancelledError("lde: stopped"); };
  if (stop.stop_requested()) return stopped();

  const NttKernels& k = KernelsFor(ActiveSimdLevel());
  const NttTwiddles& tw = d.forward();
  if (!d.four_step()) {
    // Tiny columns: permute the coefficients to natural order, scale, direct DIF.
    tbb::parallel_for(size_t{0}, cols * blowup, [&](size_t t) {
      const size_t c = t / blowup, j = t % blowup;
      Fp* dst = out[c] + BitRev32(uint32_t(j), log_blowup) * n;
      const Fp* lo = d.coset_lo(j);
      for (size_t i = 0; i < n; ++i) {
        dst[i] = coeff_cols[c][BitRev32(uint32_t(i), log_n)] * lo[i];
      }
      k.dif_contiguous(dst, log_n, tw.stage.data());
    });
    return absl::OkStatus();
  }
  const int log_n1 = d.log_n1(), log_n2 = d.log_n2();
  const size_t n1 = size_t{1} << log_n1, n2 = size_t{1} << log_n2;
  const size_t lanes = k.lanes, blocks = n2 / lanes;
  auto chunk = [&](size_t c, size_t j) { return out[c] + BitRev32(uint32_t(j), log_blowup) * n; };
  tbb::parallel_for(tbb::blocked_range<size_t>(0, cols * blowup * blocks), [&](const auto& r) {
    if (stop.stop_requested()) return;
    Fp* scratch = Scratch(n1 * lanes);
    for (size_t t = r.begin(); t != r.end(); ++t) {
      const size_t cj = t / blocks, i2 = (t % blocks) * lanes;
      const size_t c = cj / blowup, j = cj % blowup;
      k.phase_a_bitrev(coeff_cols[c], chunk(c, j), log_n1, log_n2, i2, tw.stage.data(),
                       d.coset_hi(j), scratch);
    }
  });
  if (stop.stop_requested()) return stopped();
  tbb::parallel_for(tbb::blocked_range<size_t>(0, cols * blowup * n1), [&](const auto& r) {
    if (stop.stop_requested()) return;
    for (size_t t = r.begin(); t != r.end(); ++t) {
      const size_t cj = t / n1, p = t % n1;
      const size_t c = cj / blowup, j = cj % blowup;
      // Ratio c_j * w_n^k1: the row twiddles times the coset factor c_j^i2 of phase A.
      k.phase_b_row(chunk(c, j) + p * n2, log_n2, d.coset_offset(j) * tw.row_roots[p], Fp::One(),
                    tw.stage.data());
    }
  });
  if (stop.stop_requested()) return stopped();
  return absl::OkStatus();
}

}  // namespace prover
