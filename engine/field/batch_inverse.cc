#include "engine/field/batch_inverse.h"

#include <algorithm>
#include <cassert>
#include <vector>

#include "tbb/parallel_for.h"

namespace prover {
namespace {

// Sequential Montgomery trick over [begin, end). The prefix products live in a scratch
// buffer so that in and out may alias: in[i] is always read before out[i] is written.
template <typename F>
void InvertRange(const F* in, F* out, size_t begin, size_t end, std::vector<F>& prefix) {
  prefix.resize(end - begin);
  F acc = F::One();
  for (size_t i = begin; i < end; ++i) {
    prefix[i - begin] = acc;  // product of the non-zero inputs before i
    if (!in[i].IsZero()) acc *= in[i];
  }
  F inv = acc.Inverse();  // a product of non-zero values, hence non-zero
  for (size_t i = end; i-- > begin;) {
    F x = in[i];
    if (x.IsZero()) {
      out[i] = F::Zero();
      continue;
    }
    out[i] = prefix[i - begin] * inv;
    inv *= x;
  }
}

template <typename F>
void BatchInverseImpl(std::span<const F> in, std::span<F> out) {
  assert(in.size() == out.size());
  const size_t n = in.size();
  if (n < kBatchInverseSequentialBelow) {
    std::vector<F> prefix;
    InvertRange(in.data(), out.data(), 0, n, prefix);
    return;
  }
  const size_t chunk = 2048;
  const size_t chunks = (n + chunk - 1) / chunk;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, chunks), [&](const auto& r) {
    std::vector<F> prefix;
    for (size_t c = r.begin(); c != r.end(); ++c) {
      InvertRange(in.data(), out.data(), c * chunk, std::min(n, (c + 1) * chunk), prefix);
    }
  });
}

}  // namespace

void BatchInverse(std::span<const Fp> in, std::span<Fp> out) { BatchInverseImpl(in, out); }
void BatchInverse(std::span<const Fp3> in, std::span<Fp3> out) { BatchInverseImpl(in, out); }

}  // namespace prover
