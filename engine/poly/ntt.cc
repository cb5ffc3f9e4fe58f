#include "engine/poly/ntt.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/bits.h"
#include "engine/base/scratch_pool.h"
#include "engine/poly/domain.h"
#include "engine/poly/ntt_kernels.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"

namespace prover {
namespace ntt_internal {

const NttKernels& KernelsFor(SimdLevel level) {
  return SelectKernels<NttKernels>(level, &PortableKernels, PROVER_AVX2_KERNELS(Avx2Kernels),
                                   PROVER_AVX512_KERNELS(Avx512Kernels));
}

// Scratch for one phase-A block, reused by each thread.
Fp* Scratch(size_t elements) {
  thread_local std::vector<Fp> buffer;
  if (buffer.size() < elements) buffer.resize(elements);
  return buffer.data();
}

namespace {

absl::Status CheckLogN(int log_n) {
  if (log_n < 0 || log_n > Fp::kTwoAdicity) {
    return absl::InvalidArgumentError(absl::StrCat("ntt: log_n ", log_n, " outside [0, 32]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Domain>> PlainDomain(int log_n) {
  return DomainCache::Global().Get(DomainKey{log_n, 0, 1});
}

}  // namespace

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

}  // namespace prover
