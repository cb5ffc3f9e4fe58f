// The cubic extension F_p^3 = F_p[X] / (X^3 - X - 1) of Goldilocks, host and device.
//
// X^3 - X - 1 is irreducible over F_p: a cubic is irreducible exactly when it has no root
// in F_p, i.e. when gcd(X^p - X, X^3 - X - 1) = 1; extension_test.cc computes X^p mod f
// and that gcd. The reduction rule X^3 = X + 1 (so X^4 = X^2 + X) costs additions only.
//
// An element is c0 + c1 X + c2 X^2, stored and encoded in that order (c0 first), each
// coefficient a canonical Goldilocks value. A base element b embeds as (b, 0, 0).
#pragma once

#include "engine/field/goldilocks.h"
#include "engine/field/wide_sum.h"

namespace prover {

class Fp3 {
 public:
  constexpr Fp3() = default;
  PROVER_HOST_DEVICE constexpr Fp3(Fp c0, Fp c1, Fp c2) : c_{c0, c1, c2} {}
  // Embedding of the base field.
  PROVER_HOST_DEVICE constexpr explicit Fp3(Fp base) : c_{base, Fp::Zero(), Fp::Zero()} {}

  static PROVER_HOST_DEVICE constexpr Fp3 Zero() { return Fp3(); }
  static PROVER_HOST_DEVICE constexpr Fp3 One() { return Fp3(Fp::One()); }

  PROVER_HOST_DEVICE constexpr Fp coeff(int i) const { return c_[i]; }
  PROVER_HOST_DEVICE constexpr bool IsZero() const {
    return c_[0].IsZero() && c_[1].IsZero() && c_[2].IsZero();
  }
  // True when the element lies in the base field (c1 = c2 = 0).
  PROVER_HOST_DEVICE constexpr bool IsBase() const { return c_[1].IsZero() && c_[2].IsZero(); }

  friend PROVER_HOST_DEVICE constexpr Fp3 operator+(const Fp3& a, const Fp3& b) {
    return Fp3(a.c_[0] + b.c_[0], a.c_[1] + b.c_[1], a.c_[2] + b.c_[2]);
  }
  friend PROVER_HOST_DEVICE constexpr Fp3 operator-(const Fp3& a, const Fp3& b) {
    return Fp3(a.c_[0] - b.c_[0], a.c_[1] - b.c_[1], a.c_[2] - b.c_[2]);
  }
  PROVER_HOST_DEVICE constexpr Fp3 operator-() const { return Fp3(-c_[0], -c_[1], -c_[2]); }

  friend PROVER_HOST_DEVICE constexpr Fp3 operator*(const Fp3& a, const Fp3& b) {
    const Fp *x = a.c_, *y = b.c_;
#if !defined(__CUDA_ARCH__)
    // The same products, summed before reducing (field/wide_sum.h): three reductions
    // instead of nine plus the modular additions.
    const unsigned __int128 t12 = WideProduct(x[1], y[2]), t21 = WideProduct(x[2], y[1]);
    const unsigned __int128 t22 = WideProduct(x[2], y[2]);
    WideSum s0, s1, s2;
    s0.Add(WideProduct(x[0], y[0]));
    s0.Add(t12);
    s0.Add(t21);
    s1.Add(WideProduct(x[0], y[1]));
    s1.Add(WideProduct(x[1], y[0]));
    s1.Add(t12);
    s1.Add(t21);
    s1.Add(t22);
    s2.Add(WideProduct(x[0], y[2]));
    s2.Add(WideProduct(x[1], y[1]));
    s2.Add(WideProduct(x[2], y[0]));
    s2.Add(t22);
    return Fp3(s0.Reduce(), s1.Reduce(), s2.Reduce());
#else
    // Schoolbook product c0 + c1 X + ... + c4 X^4, then X^3 = X + 1, X^4 = X^2 + X.
    Fp c0 = x[0] * y[0];
    Fp c1 = x[0] * y[1] + x[1] * y[0];
    Fp c2 = x[0] * y[2] + x[1] * y[1] + x[2] * y[0];
    Fp c3 = x[1] * y[2] + x[2] * y[1];
    Fp c4 = x[2] * y[2];
    return Fp3(c0 + c3, c1 + c3 + c4, c2 + c4);
#endif
  }
  // Extension times base: three base multiplications.
  friend PROVER_HOST_DEVICE constexpr Fp3 operator*(const Fp3& a, Fp b) {
    return Fp3(a.c_[0] * b, a.c_[1] * b, a.c_[2] * b);
  }
  friend PROVER_HOST_DEVICE constexpr Fp3 operator*(Fp b, const Fp3& a) { return a * b; }
  // Extension minus base: the constant coefficient only.
  friend PROVER_HOST_DEVICE constexpr Fp3 operator-(const Fp3& a, Fp b) {
    return Fp3(a.c_[0] - b, a.c_[1], a.c_[2]);
  }

  PROVER_HOST_DEVICE constexpr Fp3& operator+=(const Fp3& o) { return *this = *this + o; }
  PROVER_HOST_DEVICE constexpr Fp3& operator-=(const Fp3& o) { return *this = *this - o; }
  PROVER_HOST_DEVICE constexpr Fp3& operator*=(const Fp3& o) { return *this = *this * o; }
  PROVER_HOST_DEVICE constexpr Fp3& operator*=(Fp o) { return *this = *this * o; }
  friend PROVER_HOST_DEVICE constexpr bool operator==(const Fp3& a, const Fp3& b) {
    return a.c_[0] == b.c_[0] && a.c_[1] == b.c_[1] && a.c_[2] == b.c_[2];
  }
  friend PROVER_HOST_DEVICE constexpr bool operator!=(const Fp3& a, const Fp3& b) {
    return !(a == b);
  }

  PROVER_HOST_DEVICE constexpr Fp3 Square() const { return *this * *this; }

  PROVER_HOST_DEVICE constexpr Fp3 Pow(uint64_t e) const {
    Fp3 result = One(), base = *this;
    while (e != 0) {
      if (e & 1) result *= base;
      base = base.Square();
      e >>= 1;
    }
    return result;
  }

  // Inverse through the multiplication matrix M(a) (columns a, aX, aX^2 in the basis
  // 1, X, X^2): a^-1 is the solution of M b = e0, i.e. the first column of adj(M) over
  // det(M) = N(a), the norm, which is non-zero for a != 0 because the extension is a
  // field. One base inversion and about twenty base multiplications. Zero maps to zero.
  PROVER_HOST_DEVICE constexpr Fp3 Inverse() const {
    const Fp a0 = c_[0], a1 = c_[1], a2 = c_[2];
    const Fp m00 = a0, m01 = a2, m02 = a1;
    const Fp m10 = a1, m11 = a0 + a2, m12 = a1 + a2;
    const Fp m20 = a2, m21 = a1, m22 = a0 + a2;
    const Fp k0 = m11 * m22 - m12 * m21;
    const Fp k1 = m12 * m20 - m10 * m22;
    const Fp k2 = m10 * m21 - m11 * m20;
    const Fp det = m00 * k0 + m01 * k1 + m02 * k2;
    const Fp inv = det.Inverse();
    return Fp3(k0 * inv, k1 * inv, k2 * inv);
  }

 private:
  Fp c_[3] = {};
};

}  // namespace prover
