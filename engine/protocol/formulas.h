// The protocol's arithmetic that more than one evaluator computes, written once for the
// host and the CUDA device: the LogUp fingerprint, helper and group constraint
// (docs/PROTOCOL.md section 5) and the FRI fold (section 9).
//
// Each formula is a template over the extension-field value type E and the base-field type
// B of its evaluator. The verifier and the GPU kernels use E = Fp3, one point at a time; the
// CPU engine's SIMD kernels (backend/cpu/row_kernels_impl.h) use vectors of lanes of Fp3.
// E needs +, -, E * E, E * B and E - B; B is Fp, Fp3 or a vector of Fp.
#pragma once

#include <cstdint>

#include "engine/base/bits.h"
#include "engine/base/host_device.h"
#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"

namespace prover::stark {

// ---------------------------------------------------------------------------------------
// LogUp. Interaction k on bus b_k with tuple (v_1, ..., v_L) and multiplicity m_k has the
// fingerprint
//   phi_k = beta - (b_k + sum_i alpha^i v_i),
// computed as phi_k = start - sum_i alpha_pows[i] v_i from the constants below.

// The fingerprint's constant term, beta - b_k.
PROVER_HOST_DEVICE Fp3 FingerprintStart(const Fp3& beta, uint64_t bus) {
  return beta - Fp3(Fp::FromU64(bus));
}

// phi = start - sum_{i < len} alpha_pow(i + 1) value(i), alpha_pow(i) = alpha^i.
template <typename E, typename AlphaPow, typename Value>
PROVER_HOST_DEVICE E Fingerprint(const E& start, AlphaPow alpha_pow, uint32_t len, Value value) {
  E phi = start;
  for (uint32_t i = 0; i < len; ++i) phi = phi - alpha_pow(i + 1) * value(i);
  return phi;
}

// A group's helper value h = sum of m_k / phi_k over its one or two interactions, from the
// inverses of their fingerprints.
template <typename E, typename M>
PROVER_HOST_DEVICE E GroupHelper(const E& inv_phi_k, const M& m_k) {
  return inv_phi_k * m_k;
}
template <typename E, typename M>
PROVER_HOST_DEVICE E GroupHelper(const E& inv_phi_k, const M& m_k, const E& inv_phi_l,
                                 const M& m_l) {
  return inv_phi_k * m_k + inv_phi_l * m_l;
}

// A group's constraint with h standing for its helper (for the last group, the terms of the
// running sum): h = m_k / phi_k cleared of its denominators,
//   h phi_k - m_k,   or for two interactions   h phi_k phi_l - phi_l m_k - phi_k m_l.
template <typename E, typename M>
PROVER_HOST_DEVICE E GroupConstraint(const E& h, const E& phi_k, const M& m_k) {
  return h * phi_k - m_k;
}
template <typename E, typename M>
PROVER_HOST_DEVICE E GroupConstraint(const E& h, const E& phi_k, const M& m_k, const E& phi_l,
                                     const M& m_l) {
  return h * phi_k * phi_l - phi_l * m_k - phi_k * m_l;
}

// ---------------------------------------------------------------------------------------
// The LDE's layout (docs/PROTOCOL.md section 4): a table's LDE of N = n * blowup points is
// in bit-reversed order, so each run of n positions is one coset of the trace domain.
// Position of the next-row point of LDE position p (bit-reversed order): within the coset
// chunk of n values, bitrev_n(bitrev_n(p) + 1).
PROVER_HOST_DEVICE uint64_t NextRowPosition(uint64_t p, int log_n) {
  const uint64_t n = uint64_t{1} << log_n;
  const uint64_t base = p & ~(n - 1), q = p - base;
  return base + BitRev((BitRev(q, log_n) + 1) & (n - 1), log_n);
}

// ---------------------------------------------------------------------------------------
// FRI. A group of 2^log_a values of one layer, in bit-reversed order, holds f at the
// points y_k of a coset, and each binary step r pairs v[2k], v[2k+1] (the values at y and
// -y) into
//   v[k] = (v[2k] + v[2k+1]) + zeta^(2^r) (v[2k] - v[2k+1]) / y.
// After log_a steps v[0] is arity times the folded value; the caller scales it by 1 / arity.
// zeta(r) gives zeta^(2^r), y_inv(r, k) gives 1 / y for pair k of step r.
template <typename E, typename Zeta, typename YInv>
PROVER_HOST_DEVICE E FoldUnscaled(E* v, int log_a, Zeta zeta, YInv y_inv) {
  PROVER_UNROLL
  for (int r = 0; r < log_a; ++r) {
    const uint32_t half = (uint32_t{1} << log_a) >> (r + 1);
    const E z = zeta(r);
    PROVER_UNROLL
    for (uint32_t k = 0; k < half; ++k) {
      const E sum = v[2 * k] + v[2 * k + 1];
      const E diff = v[2 * k] - v[2 * k + 1];
      v[k] = sum + z * (diff * y_inv(r, k));
    }
  }
  return v[0];
}

}  // namespace prover::stark
