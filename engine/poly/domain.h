// Evaluation domains and the process-wide domain cache.
//
// A Domain describes the trace domain H = <w_n> (n = 2^log_n) and the LDE coset
// shift * <w_{nB}> (B = 2^log_blowup), and holds every table the NTT and the coset LDE
// need for it: radix-2 stage twiddles, four-step row roots (forward and inverse), and the
// coset scaling tables. All tables are small: O(B * sqrt(n)) elements (O(n) only for
// n <= 2^12), never O(n * B).
//
// Four-step split used by every kernel: n = n1 * n2 with log_n2 = max(ceil(log_n / 2), 3)
// and log_n1 = log_n - log_n2; index i = i1 * n2 + i2. Sizes with log_n1 < 1 (n <= 8) use
// the direct path.
//
// Domains are immutable once built and shared between threads and jobs through
// shared_ptr; the cache only decides how long it keeps its own reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/field/goldilocks.h"

namespace prover {

// Transforms of at most 2^kDirectNttMaxLog values (32 KiB, within L1) run as one
// contiguous radix-2 pass instead of the four-step.
inline constexpr int kDirectNttMaxLog = 12;

// Twiddles for NTTs of size 2^log_n in one direction (root w or w^-1).
struct NttTwiddles {
  // stage[h + j] = w_{2h}^j for h = 1, 2, 4, ... below max(n1, n2), or below n when
  // log_n <= kDirectNttMaxLog (entry 0 unused).
  std::vector<Fp> stage;
  // row_roots[p] = w_n^(bitrev_{n1}(p)): the phase-B twiddle base of the row at position p.
  std::vector<Fp> row_roots;
};

struct DomainKey {
  int log_n = 0;
  int log_blowup = 0;
  uint64_t shift = 1;  // canonical value of the coset offset
  friend auto operator<=>(const DomainKey&, const DomainKey&) = default;
};

class Domain {
 public:
  // log_n + log_blowup <= 32; shift non-zero. Errors are INVALID_ARGUMENT.
  static absl::StatusOr<std::shared_ptr<const Domain>> Create(const DomainKey& key);

  const DomainKey& key() const { return key_; }
  int log_n() const { return key_.log_n; }
  int log_n1() const { return log_n1_; }
  int log_n2() const { return log_n2_; }
  size_t n() const { return size_t{1} << key_.log_n; }
  size_t blowup() const { return size_t{1} << key_.log_blowup; }
  Fp shift() const { return Fp::FromCanonical(key_.shift); }
  bool four_step() const { return log_n1_ >= 1; }

  const NttTwiddles& forward() const { return forward_; }
  const NttTwiddles& inverse() const { return inverse_; }

  // Coset j (j < B) of the LDE is c_j * <w_n> with c_j = shift * w_{nB}^j.
  Fp coset_offset(size_t j) const { return coset_offset_[j]; }
  // Scaling of the coefficients for coset j. Coefficient i = i1 * n2 + i2 is to be
  // multiplied by c_j^i / n = coset_hi(j)[p] * c_j^i2, where p is the position of i1 in
  // bit-reversed order (i1 = bitrev_{n1}(p)); the c_j^i2 part rides on phase B's row
  // twiddles. For the direct path (n <= 8) coset_lo(j) holds the n values c_j^i / n.
  const Fp* coset_hi(size_t j) const { return coset_hi_.data() + j * n1(); }
  const Fp* coset_lo(size_t j) const { return coset_lo_.data() + j * n(); }

  // Bytes held by this domain's tables.
  size_t bytes() const;

 private:
  Domain() = default;
  size_t n1() const { return four_step() ? size_t{1} << log_n1_ : 0; }

  DomainKey key_;
  int log_n1_ = 0, log_n2_ = 0;
  NttTwiddles forward_, inverse_;
  std::vector<Fp> coset_offset_, coset_hi_, coset_lo_;
};

// The process-wide store of domains keyed by (log n, log blowup, shift): thread-safe,
// bounded in bytes with least-recently-used eviction, with counters the service exports.
// Concurrent requests for a missing domain build it once; the others wait for it.
class DomainCache {
 public:
  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evictions = 0;
    size_t bytes = 0;  // held by the cache's own references
    size_t entries = 0;
  };

  explicit DomainCache(size_t capacity_bytes);
  DomainCache(const DomainCache&) = delete;
  DomainCache& operator=(const DomainCache&) = delete;

  // The process-wide cache (capacity 256 MiB unless set with SetCapacity).
  static DomainCache& Global();

  absl::StatusOr<std::shared_ptr<const Domain>> Get(const DomainKey& key);

  Stats stats() const;
  size_t capacity() const;
  // Shrinks or grows the bound; evicts at once down to it.
  void SetCapacity(size_t bytes);
  void Clear();

 private:
  struct Entry {
    std::shared_future<std::shared_ptr<const Domain>> domain;
    size_t bytes = 0;  // 0 while being built
    std::list<DomainKey>::iterator lru;
  };
  void EvictLocked();

  mutable std::mutex mu_;
  size_t capacity_;
  std::map<DomainKey, Entry> entries_;
  std::list<DomainKey> lru_;  // front = most recently used
  Stats stats_;
};

}  // namespace prover
