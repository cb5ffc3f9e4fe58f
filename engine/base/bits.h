// Bit helpers shared by the host and the device: bit reversal and ceil(log2).
#pragma once

#include <cstdint>

#include "engine/base/host_device.h"

namespace prover {

// x with its low `bits` bits reversed (bits in [0, 64]; x < 2^bits).
PROVER_HOST_DEVICE uint64_t BitRev(uint64_t x, int bits) {
  if (bits == 0) return 0;
#if defined(__CUDA_ARCH__)
  return __brevll(x) >> (64 - bits);
#else
  // Reverse the bits within each byte (swap halves, pairs, nibbles), then the bytes.
  x = ((x >> 1) & 0x5555555555555555ull) | ((x & 0x5555555555555555ull) << 1);
  x = ((x >> 2) & 0x3333333333333333ull) | ((x & 0x3333333333333333ull) << 2);
  x = ((x >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((x & 0x0F0F0F0F0F0F0F0Full) << 4);
  return __builtin_bswap64(x) >> (64 - bits);
#endif
}

// The same for indices below 2^32 (bits in [0, 32]), in 32-bit arithmetic: the NTTs'
// permutations and transposes reverse one index per element.
PROVER_HOST_DEVICE uint32_t BitRev32(uint32_t x, int bits) {
#if defined(__CUDA_ARCH__)
  return bits == 0 ? 0 : __brev(x) >> (32 - bits);
#else
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0F0F0F0Fu) | ((x & 0x0F0F0F0Fu) << 4);
  x = __builtin_bswap32(x);
  return bits == 0 ? 0 : x >> (32 - bits);  // a select, not a branch, in per-element loops
#endif
}

// The least r with 2^r >= x (0 for x <= 1).
PROVER_HOST_DEVICE constexpr int CeilLog2(uint64_t x) {
  int r = 0;
  while (r < 64 && (uint64_t{1} << r) < x) ++r;
  return r;
}

}  // namespace prover
