// Reference transforms for tests: O(n^2) DFT and Horner evaluation, written for clarity.
#pragma once

#include <cstddef>
#include <vector>

#include "engine/field/goldilocks.h"

namespace prover {

// A[k] = sum_i a[i] * w^(i k), natural order in and out.
std::vector<Fp> NaiveDft(const std::vector<Fp>& a, Fp w);

// sum_i coeffs[i] * x^i.
Fp HornerEvaluate(const std::vector<Fp>& coeffs, Fp x);

}  // namespace prover
