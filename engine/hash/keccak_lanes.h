// Internal: Keccak-256 over N independent messages in lock step, written once over a lane
// type L (one 64-bit word of N states). Included by exactly one translation unit per ISA;
// everything here has internal linkage so code compiled with AVX-512 flags can never be
// picked by the linker for another unit.
//
// L provides: static constexpr int kLanes; Vec; Zero(); Xor(a,b); Xor3(a,b,c);
// Chi(a,b,c) = a ^ (~b & c); template <int R> Rotl(a); Load(const uint64_t*) for kLanes
// consecutive words; Gather(const uint8_t* base, size_t stride) loading the u64 at
// base + k*stride into lane k; LoadTransposed(base, stride, out) loading kLanes
// consecutive words of every lane (out[w] lane k = u64 at base + k*stride + 8w);
// Broadcast(uint64_t); Store(uint64_t* out, Vec).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "engine/hash/keccak_kernels.h"

namespace prover::keccak_internal {
namespace {

constexpr uint64_t kRoundConstants[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull, 0x8000000080008000ull,
    0x000000000000808bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
    0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800aull, 0x800000008000000aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull};
constexpr size_t kRateBytes = 136;
constexpr size_t kRateWords = 17;

// rho rotation of lane (x, y), indexed x + 5y.
constexpr int kRho[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                          25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};

// One round from state a into state e. pi sends lane (x, y) to (y, 2x + 3y), so output
// (X, Y) comes from input (x, y) = ((X + 3Y) mod 5, X): each output row is computed from
// the input state directly (theta's D, rho, pi, then chi), keeping about 35 vectors live
// instead of rewriting all 25 lanes in every step, which lets the compiler keep the state
// in registers.
template <class L, int Y, int X>
inline __attribute__((always_inline)) typename L::Vec RowInput(const typename L::Vec* a,
                                                               const typename L::Vec* d) {
  constexpr int x = (X + 3 * Y) % 5, y = X;
  return L::template Rotl<kRho[x + 5 * y]>(L::Xor(a[x + 5 * y], d[x]));
}

template <class L, int Y>
inline __attribute__((always_inline)) void OutputRow(const typename L::Vec* a,
                                                     const typename L::Vec* d, typename L::Vec* e) {
  const typename L::Vec b0 = RowInput<L, Y, 0>(a, d), b1 = RowInput<L, Y, 1>(a, d),
                        b2 = RowInput<L, Y, 2>(a, d), b3 = RowInput<L, Y, 3>(a, d),
                        b4 = RowInput<L, Y, 4>(a, d);
  e[5 * Y + 0] = L::Chi(b0, b1, b2);
  e[5 * Y + 1] = L::Chi(b1, b2, b3);
  e[5 * Y + 2] = L::Chi(b2, b3, b4);
  e[5 * Y + 3] = L::Chi(b3, b4, b0);
  e[5 * Y + 4] = L::Chi(b4, b0, b1);
}

template <class L>
inline __attribute__((always_inline)) void Round(const typename L::Vec* a, typename L::Vec* e,
                                                 uint64_t round_constant) {
  using V = typename L::Vec;
  V c[5], d[5];
#pragma GCC unroll 5
  for (int x = 0; x < 5; ++x) {
    c[x] = L::Xor(L::Xor3(a[x], a[x + 5], a[x + 10]), L::Xor(a[x + 15], a[x + 20]));
  }
#pragma GCC unroll 5
  for (int x = 0; x < 5; ++x) d[x] = L::Xor(c[(x + 4) % 5], L::template Rotl<1>(c[(x + 1) % 5]));
  OutputRow<L, 0>(a, d, e);
  OutputRow<L, 1>(a, d, e);
  OutputRow<L, 2>(a, d, e);
  OutputRow<L, 3>(a, d, e);
  OutputRow<L, 4>(a, d, e);
  e[0] = L::Xor(e[0], L::Broadcast(round_constant));
}

template <class L>
inline __attribute__((always_inline)) void Permute(typename L::Vec* a) {
  typename L::Vec e[25];
  for (int round = 0; round < 24; round += 2) {  // a -> e -> a
    Round<L>(a, e, kRoundConstants[round]);
    Round<L>(e, a, kRoundConstants[round + 1]);
  }
}

// Writes the 32-byte digests of the kLanes states to out (lane k at out + 32k).
template <class L>
inline void Squeeze(const typename L::Vec* a, uint8_t* out) {
  alignas(64) uint64_t words[4][L::kLanes];
  for (int w = 0; w < 4; ++w) L::Store(words[w], a[w]);
  for (int k = 0; k < L::kLanes; ++k) {
    for (int w = 0; w < 4; ++w) std::memcpy(out + 32 * k + 8 * w, &words[w][k], 8);
  }
}

// Absorbs `words` full little-endian words of every lane into a[0 .. words).
template <class L>
inline void AbsorbWords(typename L::Vec* a, const uint8_t* base, size_t stride, size_t words) {
  size_t w = 0;
  for (; w + L::kLanes <= words; w += L::kLanes) {
    typename L::Vec t[L::kLanes];
    L::LoadTransposed(base + 8 * w, stride, t);
    for (int i = 0; i < L::kLanes; ++i) a[w + i] = L::Xor(a[w + i], t[i]);
  }
  for (; w < words; ++w) a[w] = L::Xor(a[w], L::Gather(base + 8 * w, stride));
}

// kLanes messages of `len` bytes, message k at in + k*stride.
template <class L>
void HashGroup(const uint8_t* in, size_t stride, size_t len, uint8_t* out) {
  using V = typename L::Vec;
  V a[25];
  for (auto& v : a) v = L::Zero();
  size_t off = 0;
  for (; off + kRateBytes <= len; off += kRateBytes) {
    AbsorbWords<L>(a, in + off, stride, kRateWords);
    Permute<L>(a);
  }
  const size_t rem = len - off;
  if (rem % 8 == 0) {
    // Whole words: absorb them in place and add the padding as constants.
    AbsorbWords<L>(a, in + off, stride, rem / 8);
    a[rem / 8] = L::Xor(a[rem / 8], L::Broadcast(0x01));
    a[kRateWords - 1] = L::Xor(a[kRateWords - 1], L::Broadcast(0x80ull << 56));
  } else {
    // A partial word: stage the padded last block of each lane.
    alignas(64) uint8_t last[L::kLanes][kRateBytes];
    for (int k = 0; k < L::kLanes; ++k) {
      std::memset(last[k], 0, kRateBytes);
      std::memcpy(last[k], in + k * stride + off, rem);
      last[k][rem] ^= 0x01;
      last[k][kRateBytes - 1] ^= 0x80;
    }
    AbsorbWords<L>(a, &last[0][0], kRateBytes, kRateWords);
  }
  Permute<L>(a);
  Squeeze<L>(a, out);
}

// kLanes consecutive rows starting at `row` of a column set.
template <class L>
void HashRowGroup(const uint64_t* const* columns, size_t num_columns, size_t row, uint8_t* out) {
  using V = typename L::Vec;
  V a[25];
  for (auto& v : a) v = L::Zero();
  size_t c = 0;
  for (; c + kRateWords <= num_columns; c += kRateWords) {
#pragma GCC unroll 17
    for (size_t w = 0; w < kRateWords; ++w) a[w] = L::Xor(a[w], L::Load(columns[c + w] + row));
    Permute<L>(a);
  }
  const size_t rem = num_columns - c;  // words in the last block, < 17
  for (size_t w = 0; w < rem; ++w) a[w] = L::Xor(a[w], L::Load(columns[c + w] + row));
  a[rem] = L::Xor(a[rem], L::Broadcast(0x01));
  a[kRateWords - 1] = L::Xor(a[kRateWords - 1], L::Broadcast(0x80ull << 56));
  Permute<L>(a);
  Squeeze<L>(a, out);
}

// Whole groups of kLanes messages with L; the remainder with the portable kernels.
template <class L>
void BatchLanes(const uint8_t* in, size_t stride, size_t len, size_t count, uint8_t* out) {
  size_t i = 0;
  for (; i + L::kLanes <= count; i += L::kLanes) {
    HashGroup<L>(in + i * stride, stride, len, out + 32 * i);
  }
  if (i < count) PortableKernels().batch(in + i * stride, stride, len, count - i, out + 32 * i);
}

template <class L>
void ColumnRowsLanes(const uint64_t* const* columns, size_t num_columns, size_t row_begin,
                     size_t count, uint8_t* out) {
  size_t i = 0;
  for (; i + L::kLanes <= count; i += L::kLanes) {
    HashRowGroup<L>(columns, num_columns, row_begin + i, out + 32 * i);
  }
  if (i < count) {
    PortableKernels().column_rows(columns, num_columns, row_begin + i, count - i, out + 32 * i);
  }
}

}  // namespace
}  // namespace prover::keccak_internal
