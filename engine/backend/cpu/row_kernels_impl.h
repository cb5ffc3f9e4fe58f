// Internal: the row kernels of row_kernels.h written once over a packed-arithmetic type P
// (field/packed_*.h), included by one translation unit per ISA. Everything here has
// internal linkage (the anonymous namespace), so no ISA's copy of a shared instantiation
// (ScalarOps for the tails, say) can be picked by the linker for another ISA's unit.
#pragma once

#include <algorithm>
#include <cstddef>

#include "engine/backend/cpu/row_kernels.h"
#include "engine/protocol/formulas.h"

namespace prover::backend::cpu::row_internal {
namespace {

// One value per "vector": the tails below a multiple of P::kLanes, and the reference
// shape every packed path must agree with.
struct ScalarOps {
  static constexpr int kLanes = 1;
  using Vec = Fp;
  static Vec Load(const Fp* p) { return *p; }
  static void Store(Fp* p, Vec a) { *p = a; }
  static Vec Broadcast(Fp x) { return x; }
  static Vec Add(Vec a, Vec b) { return a + b; }
  static Vec Sub(Vec a, Vec b) { return a - b; }
  static Vec Mul(Vec a, Vec b) { return a * b; }
  static void LoadTransposed(const Fp* const* rows, size_t j, Vec* out) { out[0] = rows[0][j]; }
};

// kLanes extension elements, one vector per coefficient.
template <typename P>
struct V3 {
  typename P::Vec c0, c1, c2;
};

template <typename P>
inline __attribute__((always_inline)) V3<P> Splat(const Fp3& a) {
  return {P::Broadcast(a.coeff(0)), P::Broadcast(a.coeff(1)), P::Broadcast(a.coeff(2))};
}

template <typename P>
inline __attribute__((always_inline)) V3<P> Add3(const V3<P>& a, const V3<P>& b) {
  return {P::Add(a.c0, b.c0), P::Add(a.c1, b.c1), P::Add(a.c2, b.c2)};
}

template <typename P>
inline __attribute__((always_inline)) V3<P> Sub3(const V3<P>& a, const V3<P>& b) {
  return {P::Sub(a.c0, b.c0), P::Sub(a.c1, b.c1), P::Sub(a.c2, b.c2)};
}

// Karatsuba: c0 + c1 X + ... + c4 X^4 from six products, then X^3 = X + 1, X^4 = X^2 + X
// (as field/extension.h; the same field elements as the schoolbook product).
template <typename P>
inline __attribute__((always_inline)) V3<P> Mul3(const V3<P>& a, const V3<P>& b) {
  using Vec = typename P::Vec;
  const Vec p0 = P::Mul(a.c0, b.c0), p1 = P::Mul(a.c1, b.c1), p2 = P::Mul(a.c2, b.c2);
  const Vec p01 = P::Mul(P::Add(a.c0, a.c1), P::Add(b.c0, b.c1));
  const Vec p02 = P::Mul(P::Add(a.c0, a.c2), P::Add(b.c0, b.c2));
  const Vec p12 = P::Mul(P::Add(a.c1, a.c2), P::Add(b.c1, b.c2));
  const Vec c1 = P::Sub(p01, P::Add(p0, p1));
  const Vec c2 = P::Add(P::Sub(p02, P::Add(p0, p2)), p1);
  const Vec c3 = P::Sub(p12, P::Add(p1, p2));
  return {P::Add(p0, c3), P::Add(P::Add(c1, c3), p2), P::Add(c2, p2)};
}

// Operators, so that the protocol's formulas (protocol/formulas.h) run on vectors of
// lanes: V3 with V3, and V3 with a vector of base values.
template <typename P>
inline __attribute__((always_inline)) V3<P> operator+(const V3<P>& a, const V3<P>& b) {
  return Add3<P>(a, b);
}
template <typename P>
inline __attribute__((always_inline)) V3<P> operator-(const V3<P>& a, const V3<P>& b) {
  return Sub3<P>(a, b);
}
template <typename P>
inline __attribute__((always_inline)) V3<P> operator*(const V3<P>& a, const V3<P>& b) {
  return Mul3<P>(a, b);
}
template <typename P>
inline __attribute__((always_inline)) V3<P> operator*(const V3<P>& a, typename P::Vec m) {
  return {P::Mul(a.c0, m), P::Mul(a.c1, m), P::Mul(a.c2, m)};
}
template <typename P>
inline __attribute__((always_inline)) V3<P> operator-(const V3<P>& a, typename P::Vec m) {
  return {P::Sub(a.c0, m), a.c1, a.c2};
}

// acc += coef * f for a base value f.
template <typename P>
inline __attribute__((always_inline)) void MulAddBase(V3<P>& acc, const Fp3& coef,
                                                      typename P::Vec f) {
  acc.c0 = P::Add(acc.c0, P::Mul(P::Broadcast(coef.coeff(0)), f));
  acc.c1 = P::Add(acc.c1, P::Mul(P::Broadcast(coef.coeff(1)), f));
  acc.c2 = P::Add(acc.c2, P::Mul(P::Broadcast(coef.coeff(2)), f));
}

// ((x + e2) x + e1) x + e0.
template <typename P>
inline __attribute__((always_inline)) typename P::Vec Cubic(typename P::Vec x, const Fp (&e)[3]) {
  typename P::Vec r = P::Add(x, P::Broadcast(e[2]));
  r = P::Add(P::Mul(r, x), P::Broadcast(e[1]));
  return P::Add(P::Mul(r, x), P::Broadcast(e[0]));
}

template <typename P>
void DeepRows(const DeepPlan& plan, size_t p0, size_t count, const Fp* x, Fp3* target) {
  using Vec = typename P::Vec;
  constexpr size_t L = P::kLanes;
  const size_t blocks = count / L;
  // Forward: the products m_z(x) m_zw(x) of every lane, chained per lane (Montgomery's
  // trick); pre[b] holds the product of blocks before b.
  alignas(64) Fp pre[kDeepRows];
  Vec acc = P::Broadcast(Fp::One());
  for (size_t b = 0; b < blocks; ++b) {
    const Vec X = P::Load(x + b * L);
    P::Store(pre + b * L, acc);
    acc = P::Mul(acc, P::Mul(Cubic<P>(X, plan.ez), Cubic<P>(X, plan.ew)));
  }
  // One inversion for all lanes.
  alignas(64) Fp lane[L], lane_pre[L], lane_inv[L];
  P::Store(lane, acc);
  Fp t = Fp::One();
  for (size_t l = 0; l < L; ++l) {
    lane_pre[l] = t;
    t *= lane[l];
  }
  Fp ti = t.Inverse();
  for (size_t l = L; l-- > 0;) {
    lane_inv[l] = lane_pre[l] * ti;
    ti *= lane[l];
  }
  Vec inv = P::Load(lane_inv);  // 1 / (product of blocks 0..b), walking b down

  const V3<P> c_z = Splat<P>(plan.c_z), c_zw = Splat<P>(plan.c_zw);
  const V3<P> bz = Splat<P>(plan.bz), az = Splat<P>(plan.az);
  const V3<P> s = Splat<P>(plan.s), sb = Splat<P>(plan.sb), sa = Splat<P>(plan.sa);
  const size_t m = plan.m, a = plan.a, q = plan.q, N = plan.stride;
  for (size_t b = blocks; b-- > 0;) {
    const size_t j = b * L, pos = p0 + j;
    const Vec X = P::Load(x + j);
    const Vec mz = Cubic<P>(X, plan.ez), mw = Cubic<P>(X, plan.ew);
    const Vec inv_d = P::Mul(P::Load(pre + j), inv);
    inv = P::Mul(inv, P::Mul(mz, mw));
    const Vec iz = P::Mul(inv_d, mw), iw = P::Mul(inv_d, mz);  // 1 / m_z, 1 / m_zw

    V3<P> T = {P::Broadcast(Fp::Zero()), P::Broadcast(Fp::Zero()), P::Broadcast(Fp::Zero())};
    for (size_t k = 0; k < m; ++k) MulAddBase<P>(T, plan.coef[k], P::Load(plan.main + k * N + pos));
    for (size_t k = 0; k < a; ++k) {
      const Fp* col = plan.aux + 3 * k * N + pos;
      const V3<P> f = {P::Load(col), P::Load(col + N), P::Load(col + 2 * N)};
      T = Add3<P>(T, Mul3<P>(Splat<P>(plan.coef[m + k]), f));
    }
    V3<P> U = Sub3<P>(T, c_z);
    for (size_t k = 0; k < q; ++k) {
      const Fp* col = plan.quot + 3 * k * N + pos;
      const V3<P> f = {P::Load(col), P::Load(col + N), P::Load(col + 2 * N)};
      U = Add3<P>(U, Mul3<P>(Splat<P>(plan.coef[m + a + k]), f));
    }
    const V3<P> W = Sub3<P>(T, c_zw);

    const Vec X2 = P::Mul(X, X);
    // (x^2 + B x + A) / m_z(x) and shift (x^2 + B x + A) / m_zw(x) of z w.
    const V3<P> nz = {P::Mul(P::Add(P::Add(X2, P::Mul(X, bz.c0)), az.c0), iz),
                      P::Mul(P::Add(P::Mul(X, bz.c1), az.c1), iz),
                      P::Mul(P::Add(P::Mul(X, bz.c2), az.c2), iz)};
    const V3<P> nw = {P::Mul(P::Add(P::Add(P::Mul(X2, s.c0), P::Mul(X, sb.c0)), sa.c0), iw),
                      P::Mul(P::Add(P::Add(P::Mul(X2, s.c1), P::Mul(X, sb.c1)), sa.c1), iw),
                      P::Mul(P::Add(P::Add(P::Mul(X2, s.c2), P::Mul(X, sb.c2)), sa.c2), iw)};
    const V3<P> r = Add3<P>(Mul3<P>(U, nz), Mul3<P>(W, nw));
    alignas(64) Fp r0[L], r1[L], r2[L];
    P::Store(r0, r.c0);
    P::Store(r1, r.c1);
    P::Store(r2, r.c2);
    for (size_t l = 0; l < L; ++l) target[j + l] += Fp3(r0[l], r1[l], r2[l]);
  }
  const size_t done = blocks * L;
  if constexpr (L > 1) {
    if (done < count) DeepRows<ScalarOps>(plan, p0 + done, count - done, x + done, target + done);
  }
}

// kLanes groups at once: lane l works on group c + l. The groups' values are loaded
// transposed (word k of every group in one vector), folded with vector arithmetic, and
// written back one extension element per lane.
template <typename P>
void FoldGroups(const FoldPlan& plan, size_t begin, size_t end, const Fp3* in, Fp3* out) {
  using Vec = typename P::Vec;
  constexpr size_t L = P::kLanes;
  const size_t arity = size_t{1} << plan.log_arity;
  const size_t words = 3 * arity;  // at most 48
  const Fp* const base = reinterpret_cast<const Fp*>(in);
  size_t c = begin;
  for (; c + L <= end; c += L) {
    Vec w[48];
    const Fp* rows[L];
    // Transposed loads read L words at a time; a group of fewer (or not a multiple of L)
    // words is copied into a padded buffer first, so no load runs past the input.
    alignas(64) Fp padded[L][48];
    for (size_t l = 0; l < L; ++l) {
      rows[l] = base + (c + l) * words;
      if (words % L != 0) {
        std::copy(rows[l], rows[l] + words, padded[l]);
        rows[l] = padded[l];
      }
    }
    for (size_t j = 0; j < words; j += L) P::LoadTransposed(rows, j, w + j);
    // v[k] = (w[3k], w[3k+1], w[3k+2]), folded in place.
    V3<P> v[16];
    for (size_t k = 0; k < arity; ++k) v[k] = {w[3 * k], w[3 * k + 1], w[3 * k + 2]};
    V3<P> zetas[4];
    for (int r = 0; r < plan.log_arity; ++r) zetas[r] = Splat<P>(plan.zeta[r]);
    const V3<P> folded = stark::FoldUnscaled(
        v, plan.log_arity, [&](int r) { return zetas[r]; },
        [&](int r, uint32_t k) {
          const size_t half = arity >> (r + 1);
          alignas(64) Fp tw[L];
          for (size_t l = 0; l < L; ++l) tw[l] = plan.twiddles[(c + l) * half + k];
          return P::Mul(P::Load(tw), P::Broadcast(plan.s_inv[r]));
        });
    const Vec scale = P::Broadcast(plan.scale);
    alignas(64) Fp r0[L], r1[L], r2[L];
    P::Store(r0, P::Mul(folded.c0, scale));
    P::Store(r1, P::Mul(folded.c1, scale));
    P::Store(r2, P::Mul(folded.c2, scale));
    for (size_t l = 0; l < L; ++l) {
      const Fp3 value(r0[l], r1[l], r2[l]);
      out[c + l] = plan.inject != nullptr ? value + plan.inject[c + l] : value;
    }
  }
  if constexpr (L > 1) {
    if (c < end) FoldGroups<ScalarOps>(plan, c, end, in, out);
  }
}

// body.template operator()<Q>(j) for j in steps of P::kLanes with Q = P, then one by one
// with Q = ScalarOps for the tail.
template <typename P, typename Body>
inline void ForLanes(size_t n, Body&& body) {
  size_t j = 0;
  if constexpr (P::kLanes > 1) {
    for (; j + P::kLanes <= n; j += P::kLanes) body.template operator()<P>(j);
  }
  for (; j < n; ++j) body.template operator()<ScalarOps>(j);
}

template <typename Q>
V3<Q> Load3(ConstPlanes a, size_t j) {
  return {Q::Load(a.c[0] + j), Q::Load(a.c[1] + j), Q::Load(a.c[2] + j)};
}

template <typename Q>
void Store3(Planes a, size_t j, const V3<Q>& v) {
  Q::Store(a.c[0] + j, v.c0);
  Q::Store(a.c[1] + j, v.c1);
  Q::Store(a.c[2] + j, v.c2);
}

template <typename Q>
V3<Q> Scale3(const V3<Q>& a, typename Q::Vec m) {
  return {Q::Mul(a.c0, m), Q::Mul(a.c1, m), Q::Mul(a.c2, m)};
}

template <typename P>
void ArrayAdd(const Fp* a, const Fp* b, Fp* out, size_t n) {
  ForLanes<P>(
      n, [&]<typename Q>(size_t j) { Q::Store(out + j, Q::Add(Q::Load(a + j), Q::Load(b + j))); });
}

template <typename P>
void ArraySub(const Fp* a, const Fp* b, Fp* out, size_t n) {
  ForLanes<P>(
      n, [&]<typename Q>(size_t j) { Q::Store(out + j, Q::Sub(Q::Load(a + j), Q::Load(b + j))); });
}

template <typename P>
void ArrayMul(const Fp* a, const Fp* b, Fp* out, size_t n) {
  ForLanes<P>(
      n, [&]<typename Q>(size_t j) { Q::Store(out + j, Q::Mul(Q::Load(a + j), Q::Load(b + j))); });
}

template <typename P>
void ArrayNeg(const Fp* a, Fp* out, size_t n) {
  ForLanes<P>(n, [&]<typename Q>(size_t j) {
    Q::Store(out + j, Q::Sub(Q::Broadcast(Fp::Zero()), Q::Load(a + j)));
  });
}

template <typename P>
void ArrayAxpyBase(const Fp3& g, const Fp* v, Planes acc, size_t n) {
  ForLanes<P>(n, [&]<typename Q>(size_t j) {
    V3<Q> a = Load3<Q>(acc, j);
    MulAddBase<Q>(a, g, Q::Load(v + j));
    Store3<Q>(acc, j, a);
  });
}

template <typename P>
void ArrayAxpyExt(const Fp3& g, ConstPlanes v, Planes acc, size_t n) {
  ForLanes<P>(n, [&]<typename Q>(size_t j) {
    Store3<Q>(acc, j, Add3<Q>(Load3<Q>(acc, j), Mul3<Q>(Splat<Q>(g), Load3<Q>(v, j))));
  });
}

template <typename P>
void ArrayMulExt(ConstPlanes a, ConstPlanes b, Planes out, size_t n) {
  ForLanes<P>(
      n, [&]<typename Q>(size_t j) { Store3<Q>(out, j, Mul3<Q>(Load3<Q>(a, j), Load3<Q>(b, j))); });
}

template <typename P>
void ArraySubMulBase(ConstPlanes a, const Fp* m, Planes out, size_t n) {
  ForLanes<P>(n, [&]<typename Q>(size_t j) {
    const V3<Q> t = Scale3<Q>(Load3<Q>(a, j), Q::Load(m + j));
    Store3<Q>(out, j, Sub3<Q>(Load3<Q>(out, j), t));
  });
}

// The LogUp fingerprints and group constraints (protocol/formulas.h).
template <typename P>
void ArrayFingerprint(const Fp3& start, const Fp3* alpha_pows, const Fp* const* values,
                      uint32_t len, Planes out, size_t n) {
  ForLanes<P>(n, [&]<typename Q>(size_t j) {
    const auto pows = [&](uint32_t i) { return Splat<Q>(alpha_pows[i]); };
    Store3<Q>(out, j, stark::Fingerprint(Splat<Q>(start), pows, len, [&](uint32_t i) {
                return Q::Load(values[i] + j);
              }));
  });
}

template <typename P>
void ArrayGroupConstraint(const Fp3& g, ConstPlanes h, ConstPlanes phi_k, const Fp* m_k,
                          ConstPlanes phi_l, const Fp* m_l, Planes acc, size_t n) {
  ForLanes<P>(n, [&]<typename Q>(size_t j) {
    const V3<Q> hv = Load3<Q>(h, j), pk = Load3<Q>(phi_k, j);
    const typename Q::Vec mk = Q::Load(m_k + j);
    const V3<Q> c = m_l == nullptr
                        ? stark::GroupConstraint(hv, pk, mk)
                        : stark::GroupConstraint(hv, pk, mk, Load3<Q>(phi_l, j), Q::Load(m_l + j));
    Store3<Q>(acc, j, Load3<Q>(acc, j) + Splat<Q>(g) * c);
  });
}

template <typename P>
void ArrayCombine(ConstPlanes every, ConstPlanes trans, ConstPlanes first, ConstPlanes last,
                  const Fp* x, const Fp* inv_first, const Fp* inv_last, Fp w_last, Fp zinv,
                  Planes out, size_t n) {
  ForLanes<P>(n, [&]<typename Q>(size_t j) {
    const typename Q::Vec xl = Q::Sub(Q::Load(x + j), Q::Broadcast(w_last));
    V3<Q> v = Add3<Q>(Load3<Q>(every, j), Scale3<Q>(Load3<Q>(trans, j), xl));
    v = Scale3<Q>(v, Q::Broadcast(zinv));
    v = Add3<Q>(v, Scale3<Q>(Load3<Q>(first, j), Q::Load(inv_first + j)));
    v = Add3<Q>(v, Scale3<Q>(Load3<Q>(last, j), Q::Load(inv_last + j)));
    Store3<Q>(out, j, v);
  });
}

template <typename P>
RowKernels MakeRowKernels() {
  return RowKernels{
      P::kLanes,
      ArrayKernels{&ArrayAdd<P>, &ArraySub<P>, &ArrayMul<P>, &ArrayNeg<P>, &ArrayAxpyBase<P>,
                   &ArrayAxpyExt<P>, &ArrayMulExt<P>, &ArraySubMulBase<P>, &ArrayFingerprint<P>,
                   &ArrayGroupConstraint<P>, &ArrayCombine<P>},
      &DeepRows<P>, &FoldGroups<P>};
}

}  // namespace
}  // namespace prover::backend::cpu::row_internal
