// Small pieces every backend's job shares: its memory counter, the rows and groups a
// query opens (docs/PROTOCOL.md section 9), and ceil(log2).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/backend/backend.h"

namespace prover::backend {

inline int CeilLog2(uint64_t x) {
  int r = 0;
  while ((uint64_t{1} << r) < x) ++r;
  return r;
}

// Current and peak bytes of a job's buffers; thread-safe.
class MemoryCounter {
 public:
  void Add(uint64_t bytes) {
    const uint64_t now = current_.fetch_add(bytes) + bytes;
    uint64_t p = peak_.load();
    while (now > p && !peak_.compare_exchange_weak(p, now)) {
    }
  }
  void Sub(uint64_t bytes) { current_.fetch_sub(bytes); }
  JobMemory Get() const { return {current_.load(), peak_.load()}; }

 private:
  std::atomic<uint64_t> current_{0}, peak_{0};
};

// The sorted, unique leaves that query positions (in [0, M0)) open in a tree whose leaves
// are 2^group consecutive values of a layer 2^shift times smaller than M0.
inline std::vector<uint64_t> OpenedLeaves(std::span<const uint64_t> positions, int shift,
                                          int group) {
  std::vector<uint64_t> out;
  for (uint64_t u : positions) out.push_back((u >> shift) >> group);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace prover::backend
