#include "engine/poly/ntt.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/bits.h"
#include "engine/base/scratch_pool.h"
#include "engine/poly/domain.h"
#include "engine/poly/lde.h"
#include "engine/poly/ntt_kernels.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"

namespace prover {
namespace ntt_internal {

const NttKernels& KernelsFor(SimdLevel level) {
  return SelectKernels<NttKernels>(level, &PortableKernels, PROVER_AVX2_KERNELS(Avx2Kernels),
                                   PROVER_AVX512_KERNELS(Avx512Kernels));
}

namespace {

// Scratch for one phase-A block, reused by each thread.
Fp* Scratch(size_t elements) {
  thread_local std::vector<Fp> buffer;
  if (buffer.size() < elements) buffer.resize(elements);
  return buffer.data();
}

absl::Status CheckLogN(int log_n) {
  if (log_n < 0 || log_n > Fp::kTwoAdicity) {
    return absl::InvalidArgumentError(absl::StrCat("ntt: log_n ", log_n, " outside [0, 32]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Domain>> PlainDomain(int log_n) {
  return DomainCache::Global().Get(DomainKey{log_n, 0, 1});
}

// Natural -> bit-reversed DIF of each column (src may equal dst), scaled by `scale` when
// it is not one. Four-step above the direct-path threshold.
void DifNaturalToBitrev(const Domain& d, bool inverse, std::span<const Fp* const> src,
                        std::span<Fp* const> dst, Fp scale) {
  const NttKernels& k = KernelsFor(ActiveSimdLevel());
  const NttTwiddles& tw = inverse ? d.inverse() : d.forward();
  const size_t cols = src.size();
  const int log_n = d.log_n();
  const size_t n = d.n();
  if (!d.four_step() || log_n <= kDirectNttMaxLog) {
    tbb::parallel_for(size_t{0}, cols, [&](size_t c) {
      if (src[c] != dst[c]) std::copy(src[c], src[c] + n, dst[c]);
      k.dif_contiguous(dst[c], log_n, tw.stage.data());
      if (scale != Fp::One()) {
        for (size_t i = 0; i < n; ++i) dst[c][i] *= scale;
      }
    });
    return;
  }
  const int log_n1 = d.log_n1(), log_n2 = d.log_n2();
  const size_t n1 = size_t{1} << log_n1, n2 = size_t{1} << log_n2;
  const size_t lanes = k.lanes, blocks = n2 / lanes;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, cols * blocks), [&](const auto& r) {
    Fp* scratch = Scratch(n1 * lanes);
    for (size_t t = r.begin(); t != r.end(); ++t) {
      size_t c = t / blocks, i2 = (t % blocks) * lanes;
      k.phase_a_natural(src[c], dst[c], log_n1, log_n2, i2, tw.stage.data(), nullptr, nullptr,
                        scratch);
    }
  });
  tbb::parallel_for(tbb::blocked_range<size_t>(0, cols * n1), [&](const auto& r) {
    for (size_t t = r.begin(); t != r.end(); ++t) {
      size_t c = t / n1, p = t % n1;
      k.phase_b_row(dst[c] + p * n2, log_n2, tw.row_roots[p], scale, tw.stage.data());
    }
  });
}

}  // namespace
}  // namespace ntt_internal

void BitReversePermute(std::span<Fp* const> columns, int log_n) {
  if (log_n <= 1) return;
  // Blocked: i = (a, m, b) with a and b of `t` bits each; bitrev(i) = (rev b, rev m, rev a).
  // Tiles of 2^t x 2^t values for the middle m and its reverse are swapped through a
  // buffer, so every access touches whole cache lines.
  const int t = std::min(3, log_n / 2);
  const int mid_bits = log_n - 2 * t;
  const size_t tile = size_t{1} << t, mids = size_t{1} << mid_bits;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, columns.size() * mids), [&](const auto& r) {
    for (size_t task = r.begin(); task != r.end(); ++task) {
      Fp* a = columns[task / mids];
      const size_t m = task % mids;
      const size_t rm = BitRev32(uint32_t(m), mid_bits);
      if (rm < m) continue;  // the pair is handled from its smaller member
      Fp x[64], y[64];
      for (size_t hi = 0; hi < tile; ++hi) {
        for (size_t lo = 0; lo < tile; ++lo) {
          x[hi * tile + lo] = a[(hi << (mid_bits + t)) | (m << t) | lo];
          y[hi * tile + lo] = a[(hi << (mid_bits + t)) | (rm << t) | lo];
        }
      }
      for (size_t hi = 0; hi < tile; ++hi) {
        for (size_t lo = 0; lo < tile; ++lo) {
          // Position (hi, m, lo) receives the value from (rev lo, rm, rev hi).
          size_t rhi = BitRev32(uint32_t(lo), t);
          size_t rlo = BitRev32(uint32_t(hi), t);
          a[(hi << (mid_bits + t)) | (m << t) | lo] = y[rhi * tile + rlo];
          a[(hi << (mid_bits + t)) | (rm << t) | lo] = x[rhi * tile + rlo];
        }
      }
    }
  });
}

namespace {

// Natural -> bit-reversed core with permutation passes for the other orders; the inverse
// folds n^-1 into phase B.
absl::Status Transform(std::span<Fp* const> columns, int log_n, Order input, Order output,
                       bool inverse) {
  if (auto s = ntt_internal::CheckLogN(log_n); !s.ok()) return s;
  auto d = ntt_internal::PlainDomain(log_n);
  if (!d.ok()) return d.status();
  if (input == Order::kBitReversed) BitReversePermute(columns, log_n);
  std::span<const Fp* const> src(const_cast<const Fp* const*>(columns.data()), columns.size());
  const Fp scale = inverse ? Fp::FromCanonical(size_t{1} << log_n).Inverse() : Fp::One();
  ntt_internal::DifNaturalToBitrev(**d, inverse, src, columns, scale);
  if (output == Order::kNatural) BitReversePermute(columns, log_n);
  return absl::OkStatus();
}

}  // namespace

absl::Status ForwardNtt(std::span<Fp* const> columns, int log_n, Order input, Order output) {
  return Transform(columns, log_n, input, output, /*inverse=*/false);
}

absl::Status InverseNtt(std::span<Fp* const> columns, int log_n, Order input, Order output) {
  return Transform(columns, log_n, input, output, /*inverse=*/true);
}

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
