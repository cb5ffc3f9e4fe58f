// Internal: per-ISA kernels of the CPU engine's extension-field rounds (DEEP and the FRI
// fold), over many points at once with the packed arithmetic of field/packed_*.h. Each
// call runs on the calling thread; cpu_backend.cc splits the work and picks the set with
// RowKernelsFor(ActiveSimdLevel()). Every set computes the same field values as the scalar
// formulas in cpu_backend.cc (tested in row_kernels_test.cc), so proofs do not depend on
// the SIMD path.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/base/cpu_features.h"
#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"

namespace prover::backend::cpu {

// Points per DEEP call: the kernel keeps its batch-inversion prefixes on the stack.
inline constexpr size_t kDeepRows = 1024;

// One table's DEEP sum at the points x of its LDE domain (docs/PROTOCOL.md, section 8):
//   D(x) = (T(x) + Q(x) - c_z) / (x - z) + shift * (T(x) - c_zw) / (x - z w)
// with T(x) = sum_k coef[k] f_k(x) over the main and aux columns and Q(x) the same over
// the quotient parts. Both inverses come from field/difference_inverse.h:
//   1 / (x - z) = (x^2 + B x + A) / m(x),  m(x) = ((x + e2) x + e1) x + e0 in F_p,
// so one base-field batch inversion of m_z(x) m_zw(x) serves both. The z w side carries
// shift in its numerator: shift (x^2 + B x + A) = x^2 S + x SB + SA.
struct DeepPlan {
  Fp ez[3];       // e0, e1, e2 of m_z
  Fp3 bz, az;     // B, A of z
  Fp ew[3];       // e0, e1, e2 of m_zw
  Fp3 s, sb, sa;  // shift, shift * B, shift * A of z w
  Fp3 c_z, c_zw;
  const Fp3* coef = nullptr;  // m + a + q coefficients: main, aux, quotient parts
  size_t m = 0, a = 0, q = 0;
  // Column-major LDEs, `stride` values per base column; an extension column is three
  // consecutive base columns (c0, c1, c2).
  const Fp* main = nullptr;
  const Fp* aux = nullptr;
  const Fp* quot = nullptr;
  size_t stride = 0;
};

// One FRI fold by 2^log_arity (docs/PROTOCOL.md, section 9): group c of the input holds
// the values at the points y_k = s w^bitrev(...) of one coset, and folds by log_arity
// binary steps; step r pairs (v[2k], v[2k+1]) = values at (y, -y) into
//   v[k] = (v[2k] + v[2k+1]) + zeta^(2^r) (v[2k] - v[2k+1]) / y,
// with 1 / y = s_inv^(2^r) * twiddles[c * len / 2 + k] (len = arity >> r values left).
// out[c] = v[0] / arity (+ inject[c] where a table enters FRI at this height).
struct FoldPlan {
  int log_arity = 1;  // 1 to 4
  Fp3 zeta[4];        // zeta^(2^r)
  Fp s_inv[4];        // s_inv^(2^r)
  const Fp* twiddles = nullptr;
  Fp scale;                     // 1 / arity
  const Fp3* inject = nullptr;  // or null
};

// An extension-field array of n values as three base arrays ("planes"): c0, c1, c2.
struct Planes {
  Fp* c[3];
};
struct ConstPlanes {
  const Fp* c[3];
  ConstPlanes() = default;
  ConstPlanes(const Fp* c0, const Fp* c1, const Fp* c2) : c{c0, c1, c2} {}
  ConstPlanes(const Planes& p) : c{p.c[0], p.c[1], p.c[2]} {}  // NOLINT: implicit on purpose
};

// Elementwise array arithmetic over n values (any n; out may alias an input): the
// chunked constraint evaluation of the quotient and the LogUp columns.
struct ArrayKernels {
  void (*add)(const Fp* a, const Fp* b, Fp* out, size_t n);
  void (*sub)(const Fp* a, const Fp* b, Fp* out, size_t n);
  void (*mul)(const Fp* a, const Fp* b, Fp* out, size_t n);
  void (*neg)(const Fp* a, Fp* out, size_t n);
  // acc += g * v: extension constant g, base values v.
  void (*axpy_base)(const Fp3& g, const Fp* v, Planes acc, size_t n);
  // acc += g * v: extension constant g, extension values v.
  void (*axpy_ext)(const Fp3& g, ConstPlanes v, Planes acc, size_t n);
  // out = a * b (extension values).
  void (*mul_ext)(ConstPlanes a, ConstPlanes b, Planes out, size_t n);
  // out -= a * m: extension values a, base values m.
  void (*sub_mul_base)(ConstPlanes a, const Fp* m, Planes out, size_t n);
  // out = the LogUp fingerprints phi = start - sum_{i < len} alpha_pows[i + 1] values[i]
  // (protocol/formulas.h, Fingerprint).
  void (*fingerprint)(const Fp3& start, const Fp3* alpha_pows, const Fp* const* values,
                      uint32_t len, Planes out, size_t n);
  // acc += g * the constraint of a LogUp group with helper h (protocol/formulas.h,
  // GroupConstraint): one interaction (phi_k, m_k), or two when m_l is not null.
  void (*group_constraint)(const Fp3& g, ConstPlanes h, ConstPlanes phi_k, const Fp* m_k,
                           ConstPlanes phi_l, const Fp* m_l, Planes acc, size_t n);
  // The quotient's value at n points x from its four accumulated numerators (every row,
  // transition, first row, last row; docs/PROTOCOL.md section 6):
  //   out = (every + trans (x - w_last)) zinv + first / (x - 1) + last / (x - w_last)
  // with inv_first = 1 / (x - 1) and inv_last = 1 / (x - w_last) given.
  void (*combine)(ConstPlanes every, ConstPlanes trans, ConstPlanes first, ConstPlanes last,
                  const Fp* x, const Fp* inv_first, const Fp* inv_last, Fp w_last, Fp zinv,
                  Planes out, size_t n);
};

struct RowKernels {
  int lanes;
  ArrayKernels array;
  // target[j] += D(x[j]) for the LDE positions p0 + j, j < count <= kDeepRows. Requires
  // z outside F_p (so no m(x) vanishes).
  void (*deep)(const DeepPlan& plan, size_t p0, size_t count, const Fp* x, Fp3* target);
  // out[c] for groups c in [begin, end) of in (2^log_arity values each).
  void (*fold)(const FoldPlan& plan, size_t begin, size_t end, const Fp3* in, Fp3* out);
};

const RowKernels& PortableRowKernels();
const RowKernels& Avx2RowKernels();
const RowKernels& Avx512RowKernels();
const RowKernels& RowKernelsFor(SimdLevel level);

}  // namespace prover::backend::cpu
