// Number-theoretic transforms over Goldilocks, many columns at once.
//
// Definitions, for a column a of length n = 2^log_n and w = w_n the primitive n-th root of
// Fp::RootOfUnity:
//   forward:  A[k] = sum_i a[i] * w^(i k)           (coefficients -> values on <w>)
//   inverse:  a[i] = n^-1 * sum_k A[k] * w^(-i k)   (values on <w> -> coefficients)
// Order kNatural stores index t at position t; kBitReversed stores it at bitrev_n(t).
// The fastest form is natural -> bit-reversed (no permutation pass); the others add one
// cache-blocked bit-reversal pass.
//
// Memory: columns are host arrays of n values, transformed in place; each column is
// independent (columns may not overlap). Work is spread over the current oneTBB arena;
// the result does not depend on the thread count or on the SIMD path (exact arithmetic).
// Thread-safe: concurrent calls on disjoint columns are fine.
#pragma once

#include <span>

#include "absl/status/status.h"
#include "engine/field/goldilocks.h"

namespace prover {

enum class Order { kNatural, kBitReversed };

absl::Status ForwardNtt(std::span<Fp* const> columns, int log_n, Order input, Order output);
absl::Status InverseNtt(std::span<Fp* const> columns, int log_n, Order input, Order output);

// a[t] <-> a[bitrev_n(t)] for each column, in place.
void BitReversePermute(std::span<Fp* const> columns, int log_n);

}  // namespace prover
