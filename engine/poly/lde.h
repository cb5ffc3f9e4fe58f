// Coset low-degree extension of many columns at once.
//
// Input: columns of n = 2^log_n values (natural order), the evaluations of polynomials f_c
// of degree < n on the subgroup <w_n>. Output: for each column, N = n * 2^log_blowup values
//   out[c][r] = f_c(shift * w_N^(bitrev_N(r)))      (bit-reversed order over the coset)
// so that the two points x and -x (and every coset of a FRI fold) sit next to each other.
// In bit-reversed order the N values form 2^log_blowup consecutive chunks of n, chunk
// bitrev_B(j) holding the coset shift * w_N^j * <w_n> in bit-reversed order.
//
// Method: one inverse NTT per column (natural -> bit-reversed coefficients, never
// permuted), then per coset a forward four-step NTT that reads the bit-reversed
// coefficients directly, folding the coset scaling (and 1/n) into its first pass. The
// domain's tables come from DomainCache::Global().
//
// Extension-field columns are three base columns (coefficients c0, c1, c2): the LDE is
// linear, so passing the three as ordinary columns shares every twiddle among them.
//
// Memory: in and out are host arrays (in: n values, out: N values per column); a temporary
// of n values per column holds the coefficients. out must not overlap in. Work runs on the
// current oneTBB arena; results are identical for any thread count and SIMD path.
#pragma once

#include <span>
#include <stop_token>

#include "absl/status/status.h"
#include "engine/field/goldilocks.h"

namespace prover {

// `stop`: polled between pieces of work; when requested the call returns CANCELLED soon
// (out is then unspecified).
absl::Status CosetLde(std::span<const Fp* const> in, int log_n, int log_blowup, Fp shift,
                      std::span<Fp* const> out, const std::stop_token& stop = {});

// Coefficients (natural order, degree < n) of each column: inverse NTT, natural -> natural.
absl::Status Interpolate(std::span<Fp* const> columns, int log_n);

}  // namespace prover
