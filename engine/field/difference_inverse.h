// 1 / (x - z) for many base-field x and one extension element z, at base-field cost.
//
// Let m(T) = T^3 + e2 T^2 + e1 T + e0 be the characteristic polynomial of z over F_p
// (of its multiplication matrix). Then m(z) = 0, so T - z divides m(T):
//   m(T) = (T - z) (T^2 + B T + A),   B = z + e2,   A = z^2 + e2 z + e1,
// and for base x
//   1 / (x - z) = (x^2 + B x + A) / m(x),   m(x) in F_p.
// m(x) = 0 only when x is a root of m, i.e. a conjugate of z; for z outside F_p no
// conjugate lies in F_p, so m(x) != 0 for every base x. So a batch of these inverses is
// one base-field batch inversion of the m(x) plus a few base multiplications each,
// instead of an extension-field batch inversion (about three times the work).
#pragma once

#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"

namespace prover {

class DifferenceInverse {
 public:
  PROVER_HOST_DEVICE constexpr explicit DifferenceInverse(const Fp3& z) {
    // M(z): column j holds z X^j in the basis 1, X, X^2 (X^3 = X + 1).
    const Fp3 c0 = z, c1 = z * Fp3(Fp::Zero(), Fp::One(), Fp::Zero());
    const Fp3 c2 = c1 * Fp3(Fp::Zero(), Fp::One(), Fp::Zero());
    const Fp m00 = c0.coeff(0), m10 = c0.coeff(1), m20 = c0.coeff(2);
    const Fp m01 = c1.coeff(0), m11 = c1.coeff(1), m21 = c1.coeff(2);
    const Fp m02 = c2.coeff(0), m12 = c2.coeff(1), m22 = c2.coeff(2);
    const Fp trace = m00 + m11 + m22;
    const Fp minors = (m00 * m11 - m01 * m10) + (m00 * m22 - m02 * m20) + (m11 * m22 - m12 * m21);
    const Fp det = m00 * (m11 * m22 - m12 * m21) - m01 * (m10 * m22 - m12 * m20) +
                   m02 * (m10 * m21 - m11 * m20);
    e2_ = -trace;
    e1_ = minors;
    e0_ = -det;
    b_ = z + Fp3(e2_);
    a_ = z * z + z * e2_ + Fp3(e1_);
  }
  // m(x), non-zero for base x when z is not in F_p.
  PROVER_HOST_DEVICE constexpr Fp Denominator(Fp x) const {
    return ((x + e2_) * x + e1_) * x + e0_;
  }
  // x^2 + B x + A.
  PROVER_HOST_DEVICE constexpr Fp3 Numerator(Fp x) const {
    return Fp3(x * x + b_.coeff(0) * x + a_.coeff(0), b_.coeff(1) * x + a_.coeff(1),
               b_.coeff(2) * x + a_.coeff(2));
  }
  // 1 / (x - z) given inv_den = 1 / Denominator(x).
  PROVER_HOST_DEVICE constexpr Fp3 Inverse(Fp x, Fp inv_den) const {
    return Numerator(x) * inv_den;
  }
  // The constants above, for kernels that evaluate m and the numerator themselves.
  PROVER_HOST_DEVICE constexpr Fp e0() const { return e0_; }
  PROVER_HOST_DEVICE constexpr Fp e1() const { return e1_; }
  PROVER_HOST_DEVICE constexpr Fp e2() const { return e2_; }
  PROVER_HOST_DEVICE constexpr const Fp3& a() const { return a_; }
  PROVER_HOST_DEVICE constexpr const Fp3& b() const { return b_; }

 private:
  Fp e0_, e1_, e2_;
  Fp3 a_, b_;
};

}  // namespace prover
