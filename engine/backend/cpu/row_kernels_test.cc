// The CPU engine's row kernels on every SIMD path against the DEEP formula written with
// extension-field inverses.
#include "engine/backend/cpu/row_kernels.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/field/difference_inverse.h"
#include "engine/testing/simd_levels.h"

namespace prover::backend::cpu {
namespace {

Fp RandomFp(std::mt19937_64& rng) { return Fp::FromU64(rng()); }
Fp3 RandomFp3(std::mt19937_64& rng) { return Fp3(RandomFp(rng), RandomFp(rng), RandomFp(rng)); }

struct Case {
  size_t m, a, q, stride, p0, count;
};

TEST(RowKernels, DeepMatchesTheFormulaOnEveryPath) {
  std::mt19937_64 rng(0xdee9);
  // Counts that are and are not multiples of the lane counts (tails), several offsets.
  const Case cases[] = {
      {2, 0, 1, 4096, 0, 1024}, {5, 2, 3, 4096, 1024, 1000},      {1, 1, 1, 8, 0, 8},
      {3, 0, 2, 4, 0, 4},       {7, 3, 1, 2048, 517, 1531 - 517}, {0, 2, 4, 64, 3, 61}};
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "m " << c.m << " a " << c.a << " q " << c.q << " count " << c.count);
    std::vector<Fp> main(c.m * c.stride), aux(3 * c.a * c.stride), quot(3 * c.q * c.stride);
    for (auto* v : {&main, &aux, &quot})
      for (Fp& e : *v) e = RandomFp(rng);
    std::vector<Fp> x(c.count);
    for (Fp& e : x) e = RandomFp(rng);
    std::vector<Fp3> coef(c.m + c.a + c.q);
    for (Fp3& e : coef) e = RandomFp3(rng);
    const Fp3 z = RandomFp3(rng), zw = RandomFp3(rng), shift = RandomFp3(rng);
    const Fp3 c_z = RandomFp3(rng), c_zw = RandomFp3(rng);
    std::vector<Fp3> initial(c.count);
    for (Fp3& e : initial) e = RandomFp3(rng);

    // The formula, with extension-field inverses.
    std::vector<Fp3> want(c.count);
    for (size_t j = 0; j < c.count; ++j) {
      const size_t pos = c.p0 + j;
      Fp3 t = Fp3::Zero(), qs = Fp3::Zero();
      for (size_t k = 0; k < c.m; ++k) t += coef[k] * main[k * c.stride + pos];
      auto ext = [&](const std::vector<Fp>& v, size_t k) {
        return Fp3(v[3 * k * c.stride + pos], v[(3 * k + 1) * c.stride + pos],
                   v[(3 * k + 2) * c.stride + pos]);
      };
      for (size_t k = 0; k < c.a; ++k) t += coef[c.m + k] * ext(aux, k);
      for (size_t k = 0; k < c.q; ++k) qs += coef[c.m + c.a + k] * ext(quot, k);
      const Fp3 xz = Fp3(x[j]) - z, xzw = Fp3(x[j]) - zw;
      want[j] = initial[j] + (t + qs - c_z) * xz.Inverse() + shift * ((t - c_zw) * xzw.Inverse());
    }

    const DifferenceInverse iz(z), iw(zw);
    DeepPlan plan;
    plan.ez[0] = iz.e0(), plan.ez[1] = iz.e1(), plan.ez[2] = iz.e2();
    plan.bz = iz.b(), plan.az = iz.a();
    plan.ew[0] = iw.e0(), plan.ew[1] = iw.e1(), plan.ew[2] = iw.e2();
    plan.s = shift, plan.sb = shift * iw.b(), plan.sa = shift * iw.a();
    plan.c_z = c_z, plan.c_zw = c_zw;
    plan.coef = coef.data();
    plan.m = c.m, plan.a = c.a, plan.q = c.q;
    plan.main = main.data(), plan.aux = aux.data(), plan.quot = quot.data();
    plan.stride = c.stride;
    prover::testing::ForEachSimdLevel([&](SimdLevel level) {
      std::vector<Fp3> got = initial;
      RowKernelsFor(level).deep(plan, c.p0, c.count, x.data(), got.data());
      for (size_t j = 0; j < c.count; ++j) ASSERT_EQ(got[j], want[j]) << "point " << j;
    });
  }
}

TEST(RowKernels, FoldMatchesBinaryFoldingOnEveryPath) {
  std::mt19937_64 rng(0xf01d);
  for (int log_a = 1; log_a <= 4; ++log_a) {
    for (bool with_inject : {false, true}) {
      const size_t arity = size_t{1} << log_a;
      const size_t groups = 37;  // not a multiple of any lane count
      std::vector<Fp3> in(groups * arity), inject(groups);
      for (Fp3& e : in) e = RandomFp3(rng);
      for (Fp3& e : inject) e = RandomFp3(rng);
      std::vector<Fp> twiddles(groups * arity / 2);
      for (Fp& e : twiddles) e = RandomFp(rng);
      FoldPlan plan;
      plan.log_arity = log_a;
      plan.zeta[0] = RandomFp3(rng);
      plan.s_inv[0] = RandomFp(rng);
      for (int r = 1; r < log_a; ++r) {
        plan.zeta[r] = plan.zeta[r - 1] * plan.zeta[r - 1];
        plan.s_inv[r] = plan.s_inv[r - 1] * plan.s_inv[r - 1];
      }
      plan.twiddles = twiddles.data();
      plan.scale = Fp::FromU64(arity).Inverse();
      plan.inject = with_inject ? inject.data() : nullptr;
      std::vector<Fp3> want(groups);
      for (size_t c = 0; c < groups; ++c) {
        std::vector<Fp3> v(in.begin() + c * arity, in.begin() + (c + 1) * arity);
        for (int r = 0; r < log_a; ++r) {
          const size_t half = arity >> (r + 1);
          for (size_t k = 0; k < half; ++k) {
            const Fp y_inv = plan.s_inv[r] * twiddles[c * half + k];
            v[k] = v[2 * k] + v[2 * k + 1] + plan.zeta[r] * ((v[2 * k] - v[2 * k + 1]) * y_inv);
          }
        }
        want[c] = v[0] * plan.scale + (with_inject ? inject[c] : Fp3::Zero());
      }
      prover::testing::ForEachSimdLevel([&](SimdLevel level) {
        std::vector<Fp3> got(groups);
        // Two calls, split at an odd group, as the backend splits the work.
        RowKernelsFor(level).fold(plan, 0, 13, in.data(), got.data());
        RowKernelsFor(level).fold(plan, 13, groups, in.data(), got.data());
        for (size_t c = 0; c < groups; ++c)
          ASSERT_EQ(got[c], want[c]) << "arity " << arity << " group " << c;
      });
    }
  }
}

// Every array kernel on every path, at lengths around the lane counts, against the scalar
// field operations; outputs aliasing an input as the backend uses them.
// The LogUp kernels against docs/PROTOCOL.md section 5 written out with Fp3 arithmetic:
// phi = beta - (bus + sum_i alpha^(i+1) v_i), and g * (h phi_k - m_k) or
// g * (h phi_k phi_l - phi_l m_k - phi_k m_l) added to acc.
TEST(ArrayKernels, LogUpFingerprintAndGroupConstraintOnEveryPath) {
  std::mt19937_64 rng(0x1a9b);
  for (size_t n : {size_t{1}, size_t{7}, size_t{64}, size_t{1000}}) {
    for (uint32_t len : {0u, 1u, 3u, 9u}) {
      SCOPED_TRACE(::testing::Message() << "n " << n << " tuple length " << len);
      const Fp3 alpha = RandomFp3(rng), beta = RandomFp3(rng), g = RandomFp3(rng);
      const uint64_t bus = rng() % 1000;
      std::vector<std::vector<Fp>> values(len, std::vector<Fp>(n));
      for (auto& col : values)
        for (Fp& v : col) v = RandomFp(rng);
      std::vector<const Fp*> value_ptrs;
      for (const auto& col : values) value_ptrs.push_back(col.data());
      std::vector<Fp3> alpha_pows(len + 1, Fp3::One());
      for (uint32_t i = 1; i <= len; ++i) alpha_pows[i] = alpha_pows[i - 1] * alpha;
      std::vector<Fp> mk(n), ml(n), h(3 * n), pl(3 * n), acc0(3 * n);
      for (auto* v : {&mk, &ml, &h, &pl, &acc0})
        for (Fp& e : *v) e = RandomFp(rng);
      auto ext = [&](const std::vector<Fp>& v, size_t j) {
        return Fp3(v[j], v[n + j], v[2 * n + j]);
      };
      auto planes = [&](std::vector<Fp>& v) {
        return Planes{{v.data(), v.data() + n, v.data() + 2 * n}};
      };

      std::vector<Fp3> want_phi(n), want_single(n), want_pair(n);
      for (size_t j = 0; j < n; ++j) {
        Fp3 sum = Fp3(Fp::FromU64(bus)), a = Fp3::One();
        for (uint32_t i = 0; i < len; ++i) {
          a = a * alpha;
          sum = sum + a * Fp3(values[i][j]);
        }
        const Fp3 phi = beta - sum, hj = ext(h, j), plj = ext(pl, j);
        want_phi[j] = phi;
        want_single[j] = ext(acc0, j) + g * (hj * phi - Fp3(mk[j]));
        want_pair[j] = ext(acc0, j) + g * (hj * phi * plj - plj * Fp3(mk[j]) - phi * Fp3(ml[j]));
      }
      prover::testing::ForEachSimdLevel([&](SimdLevel level) {
        const ArrayKernels& K = RowKernelsFor(level).array;
        std::vector<Fp> phi(3 * n), single = acc0, pair = acc0;
        K.fingerprint(beta - Fp3(Fp::FromU64(bus)), alpha_pows.data(), value_ptrs.data(), len,
                      planes(phi), n);
        for (size_t j = 0; j < n; ++j) ASSERT_EQ(ext(phi, j), want_phi[j]) << "phi at " << j;
        K.group_constraint(g, planes(h), planes(phi), mk.data(), Planes{}, nullptr, planes(single),
                           n);
        K.group_constraint(g, planes(h), planes(phi), mk.data(), planes(pl), ml.data(),
                           planes(pair), n);
        for (size_t j = 0; j < n; ++j) {
          ASSERT_EQ(ext(single, j), want_single[j]) << "one interaction, at " << j;
          ASSERT_EQ(ext(pair, j), want_pair[j]) << "two interactions, at " << j;
        }
      });
    }
  }
}

TEST(ArrayKernels, MatchTheScalarOperationsOnEveryPath) {
  std::mt19937_64 rng(0xa77a);
  for (size_t n : {size_t{0}, size_t{1}, size_t{3}, size_t{4}, size_t{7}, size_t{8}, size_t{9},
                   size_t{16}, size_t{37}, size_t{128}}) {
    SCOPED_TRACE(::testing::Message() << "n " << n);
    auto base = [&] {
      std::vector<Fp> v(n);
      for (Fp& e : v) e = RandomFp(rng);
      return v;
    };
    auto ext = [&] {
      std::vector<Fp3> v(n);
      for (Fp3& e : v) e = RandomFp3(rng);
      return v;
    };
    struct Soa {
      std::vector<Fp> c[3];
      explicit Soa(const std::vector<Fp3>& v) {
        for (int i = 0; i < 3; ++i) {
          c[i].resize(v.size());
          for (size_t j = 0; j < v.size(); ++j) c[i][j] = v[j].coeff(i);
        }
      }
      Planes planes() { return Planes{{c[0].data(), c[1].data(), c[2].data()}}; }
      Fp3 at(size_t j) const { return Fp3(c[0][j], c[1][j], c[2][j]); }
    };
    const std::vector<Fp> a = base(), b = base(), x = base(), i1 = base(), i2 = base();
    const std::vector<Fp3> u = ext(), v = ext(), acc0 = ext(), e4[4] = {ext(), ext(), ext(), ext()};
    const Fp3 g = RandomFp3(rng);
    const Fp w_last = RandomFp(rng), zinv = RandomFp(rng);
    prover::testing::ForEachSimdLevel([&](SimdLevel level) {
      const ArrayKernels& k = RowKernelsFor(level).array;
      std::vector<Fp> out = a;
      k.add(out.data(), b.data(), out.data(), n);
      for (size_t j = 0; j < n; ++j) ASSERT_EQ(out[j], a[j] + b[j]);
      out = a;
      k.sub(out.data(), b.data(), out.data(), n);
      for (size_t j = 0; j < n; ++j) ASSERT_EQ(out[j], a[j] - b[j]);
      k.mul(a.data(), b.data(), out.data(), n);
      for (size_t j = 0; j < n; ++j) ASSERT_EQ(out[j], a[j] * b[j]);
      k.neg(a.data(), out.data(), n);
      for (size_t j = 0; j < n; ++j) ASSERT_EQ(out[j], -a[j]);

      Soa acc(acc0);
      k.axpy_base(g, a.data(), acc.planes(), n);
      for (size_t j = 0; j < n; ++j) ASSERT_EQ(acc.at(j), acc0[j] + g * a[j]);
      Soa su(u), sv(v);
      acc = Soa(acc0);
      k.axpy_ext(g, su.planes(), acc.planes(), n);
      for (size_t j = 0; j < n; ++j) ASSERT_EQ(acc.at(j), acc0[j] + g * u[j]);
      Soa prod(u);  // in place, as the LogUp terms use it
      k.mul_ext(prod.planes(), sv.planes(), prod.planes(), n);
      for (size_t j = 0; j < n; ++j) ASSERT_EQ(prod.at(j), u[j] * v[j]);
      acc = Soa(acc0);
      k.sub_mul_base(su.planes(), b.data(), acc.planes(), n);
      for (size_t j = 0; j < n; ++j) ASSERT_EQ(acc.at(j), acc0[j] - u[j] * b[j]);

      Soa e[4] = {Soa(e4[0]), Soa(e4[1]), Soa(e4[2]), Soa(e4[3])};
      Soa q(acc0);
      k.combine(e[0].planes(), e[1].planes(), e[2].planes(), e[3].planes(), x.data(), i1.data(),
                i2.data(), w_last, zinv, q.planes(), n);
      for (size_t j = 0; j < n; ++j) {
        const Fp3 want =
            (e4[0][j] + e4[1][j] * (x[j] - w_last)) * zinv + e4[2][j] * i1[j] + e4[3][j] * i2[j];
        ASSERT_EQ(q.at(j), want) << "point " << j;
      }
    });
  }
}

}  // namespace
}  // namespace prover::backend::cpu
