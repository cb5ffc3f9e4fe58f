// Internal: 8 Goldilocks values processed together with plain C++ (the portable path).
// Same interface as packed_avx2.h / packed_avx512.h; see poly/ntt_kernels_impl.h.
#pragma once

#include <array>
#include <cstddef>

#include "engine/field/goldilocks.h"

namespace prover::packed {

// Positions (0..2L-1 over the concatenation A:B) of the "u" inputs of radix-2 butterflies
// with half-size h: those with bit h clear, in increasing order.
template <int L, int H>
constexpr std::array<int, L> UPositions() {
  std::array<int, L> pu{};
  int t = 0;
  for (int p = 0; p < 2 * L; ++p) {
    if ((p & H) == 0) pu[t++] = p;
  }
  return pu;
}

struct PackedPortable {
  static constexpr int kLanes = 8;
  struct Vec {
    Fp v[kLanes];
  };
  static Vec Load(const Fp* p) {
    Vec r;
    for (int i = 0; i < kLanes; ++i) r.v[i] = p[i];
    return r;
  }
  static void Store(Fp* p, const Vec& a) {
    for (int i = 0; i < kLanes; ++i) p[i] = a.v[i];
  }
  static Vec Broadcast(Fp x) {
    Vec r;
    for (int i = 0; i < kLanes; ++i) r.v[i] = x;
    return r;
  }
  static Vec Add(const Vec& a, const Vec& b) {
    Vec r;
    for (int i = 0; i < kLanes; ++i) r.v[i] = a.v[i] + b.v[i];
    return r;
  }
  static Vec Sub(const Vec& a, const Vec& b) {
    Vec r;
    for (int i = 0; i < kLanes; ++i) r.v[i] = a.v[i] - b.v[i];
    return r;
  }
  static Vec Mul(const Vec& a, const Vec& b) {
    Vec r;
    for (int i = 0; i < kLanes; ++i) r.v[i] = a.v[i] * b.v[i];
    return r;
  }
  // out[t] lane l = rows[l][j + t] for t, l < kLanes.
  static void LoadTransposed(const Fp* const* rows, size_t j, Vec* out) {
    for (int t = 0; t < kLanes; ++t) {
      for (int l = 0; l < kLanes; ++l) out[t].v[l] = rows[l][j + t];
    }
  }
  // U[t] = X[pu[t]], V[t] = X[pu[t] + H] for X = A:B (H < kLanes).
  template <int H>
  static void Split(const Vec& a, const Vec& b, Vec& u, Vec& v) {
    constexpr auto pu = UPositions<kLanes, H>();
    for (int t = 0; t < kLanes; ++t) {
      int p = pu[t], q = pu[t] + H;
      u.v[t] = p < kLanes ? a.v[p] : b.v[p - kLanes];
      v.v[t] = q < kLanes ? a.v[q] : b.v[q - kLanes];
    }
  }
  // The inverse of Split.
  template <int H>
  static void Merge(const Vec& u, const Vec& v, Vec& a, Vec& b) {
    constexpr auto pu = UPositions<kLanes, H>();
    for (int t = 0; t < kLanes; ++t) {
      int p = pu[t], q = pu[t] + H;
      (p < kLanes ? a.v[p] : b.v[p - kLanes]) = u.v[t];
      (q < kLanes ? a.v[q] : b.v[q - kLanes]) = v.v[t];
    }
  }
};

}  // namespace prover::packed
