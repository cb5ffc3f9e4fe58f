#include "engine/poly/naive_dft.h"

namespace prover {

std::vector<Fp> NaiveDft(const std::vector<Fp>& a, Fp w) {
  const size_t n = a.size();
  std::vector<Fp> out(n);
  Fp wk = Fp::One();  // w^k
  for (size_t k = 0; k < n; ++k, wk *= w) {
    Fp acc = Fp::Zero(), x = Fp::One();  // x = w^(i k)
    for (size_t i = 0; i < n; ++i, x *= wk) acc += a[i] * x;
    out[k] = acc;
  }
  return out;
}

Fp HornerEvaluate(const std::vector<Fp>& coeffs, Fp x) {
  Fp acc = Fp::Zero();
  for (size_t i = coeffs.size(); i-- > 0;) acc = acc * x + coeffs[i];
  return acc;
}

}  // namespace prover
