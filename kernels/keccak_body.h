// Keccak-256 (Ethereum padding) for the device, written once for host and device so the
// host tests run exactly the code the kernels run.
//
// Every message the prover hashes is a whole number of 64-bit lanes: a leaf is a row of
// canonical field values (8 little-endian bytes each, one lane per value) and an inner
// node is two 32-byte children (8 lanes). So absorbing is XOR-ing lanes into the state,
// 17 lanes (the 136-byte rate) per permutation; padding XORs 0x01 into the first byte
// after the message and 0x80 into the last byte of the rate. The digest is lanes 0..3,
// little-endian, which is also its byte order in memory on x86-64 and on NVIDIA GPUs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/base/host_device.h"

namespace prover::kernels {

inline constexpr int kKeccakRateLanes = 17;

PROVER_HOST_DEVICE constexpr uint64_t Rotl64(uint64_t x, int s) {
  return s == 0 ? x : (x << s) | (x >> (64 - s));
}

// Keccak-f[1600], 24 rounds, on 25 lanes in place. Every array index is a compile-time
// constant on the device (the rounds are unrolled too, so the round constants become
// immediates): the state stays in registers, with no stack frame (nvcc -Xptxas -v shows
// 0 bytes for the Merkle kernels; a run-time index would move the state to local memory,
// which on an H200 made the leaf kernel write ten times its output to DRAM).
PROVER_HOST_DEVICE void KeccakF(uint64_t a[25]) {
  constexpr uint64_t kRc[24] = {
      0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull, 0x8000000080008000ull,
      0x000000000000808bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
      0x000000000000008aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
      0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull, 0x8000000000008003ull,
      0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800aull, 0x800000008000000aull,
      0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull};
  PROVER_UNROLL
  for (int round = 0; round < 24; ++round) {
    uint64_t c[5], d[5];
    PROVER_UNROLL
    for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    PROVER_UNROLL
    for (int x = 0; x < 5; ++x) d[x] = c[(x + 4) % 5] ^ Rotl64(c[(x + 1) % 5], 1);
    PROVER_UNROLL
    for (int i = 0; i < 25; ++i) a[i] ^= d[i % 5];
    // rho and pi: b[y][2x+3y] = rotl(a[x][y], r[x][y]), written out lane by lane.
    uint64_t b[25];
    b[0] = a[0];
    b[10] = Rotl64(a[1], 1);
    b[20] = Rotl64(a[2], 62);
    b[5] = Rotl64(a[3], 28);
    b[15] = Rotl64(a[4], 27);
    b[16] = Rotl64(a[5], 36);
    b[1] = Rotl64(a[6], 44);
    b[11] = Rotl64(a[7], 6);
    b[21] = Rotl64(a[8], 55);
    b[6] = Rotl64(a[9], 20);
    b[7] = Rotl64(a[10], 3);
    b[17] = Rotl64(a[11], 10);
    b[2] = Rotl64(a[12], 43);
    b[12] = Rotl64(a[13], 25);
    b[22] = Rotl64(a[14], 39);
    b[23] = Rotl64(a[15], 41);
    b[8] = Rotl64(a[16], 45);
    b[18] = Rotl64(a[17], 15);
    b[3] = Rotl64(a[18], 21);
    b[13] = Rotl64(a[19], 8);
    b[14] = Rotl64(a[20], 18);
    b[24] = Rotl64(a[21], 2);
    b[9] = Rotl64(a[22], 61);
    b[19] = Rotl64(a[23], 56);
    b[4] = Rotl64(a[24], 14);
    PROVER_UNROLL
    for (int y = 0; y < 25; y += 5) {
      PROVER_UNROLL
      for (int x = 0; x < 5; ++x) a[y + x] = b[y + x] ^ (~b[y + (x + 1) % 5] & b[y + (x + 2) % 5]);
    }
    a[0] ^= kRc[round];
  }
}

// Keccak256 of `width` lanes, lane i given by lane(i). Whole 17-lane blocks first, then the
// last partial block with the padding, each lane at a compile-time position of the state.
template <typename Lane>
PROVER_HOST_DEVICE void HashLaneFn(uint32_t width, Lane lane, uint64_t out[4]) {
  uint64_t s[25];
  PROVER_UNROLL
  for (int i = 0; i < 25; ++i) s[i] = 0;
  uint32_t c = 0;
  for (; c + kKeccakRateLanes <= width; c += kKeccakRateLanes) {
    PROVER_UNROLL
    for (int i = 0; i < kKeccakRateLanes; ++i) s[i] ^= lane(c + uint32_t(i));
    KeccakF(s);
  }
  const uint32_t rest = width - c;
  PROVER_UNROLL
  for (int i = 0; i < kKeccakRateLanes; ++i) {
    if (uint32_t(i) < rest) {
      s[i] ^= lane(c + uint32_t(i));
    } else if (uint32_t(i) == rest) {
      s[i] ^= 0x01;
    }
  }
  s[kKeccakRateLanes - 1] ^= 0x8000000000000000ull;
  KeccakF(s);
  PROVER_UNROLL
  for (int i = 0; i < 4; ++i) out[i] = s[i];
}

// Keccak256 of `width` lanes, lane i read from p[i * stride].
PROVER_HOST_DEVICE void HashLanes(const uint64_t* p, uint64_t stride, uint32_t width,
                                  uint64_t out[4]) {
  HashLaneFn(
      width, [&](uint32_t i) { return p[uint64_t(i) * stride]; }, out);
}

// Inner node: Keccak256(left || right), each child 4 lanes.
PROVER_HOST_DEVICE void HashPairLanes(const uint64_t* left, const uint64_t* right,
                                      uint64_t out[4]) {
  uint64_t s[25] = {};
  for (int i = 0; i < 4; ++i) {
    s[i] = left[i];
    s[4 + i] = right[i];
  }
  s[8] = 0x01;
  s[kKeccakRateLanes - 1] = 0x8000000000000000ull;
  KeccakF(s);
  for (int i = 0; i < 4; ++i) out[i] = s[i];
}

}  // namespace prover::kernels
