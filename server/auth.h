// API keys and per-tenant rate limits.
//
// Keys file: one key per line, `TENANT SHA256_HEX_OF_KEY`; blank lines and lines starting
// with '#' are ignored. Tenants are 1..64 characters of [A-Za-z0-9._-]. Only hashes are
// stored, so the file is not a secret worth stealing; the raw key reaches the server as
// `authorization: Bearer KEY` metadata and is hashed once per call.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace prover::server {

class KeyRing {
 public:
  // INVALID_ARGUMENT naming "FILE:LINE" for a malformed line, a bad tenant or hash, or a
  // hash listed twice.
  static absl::StatusOr<KeyRing> Load(const std::string& path);
  static absl::StatusOr<KeyRing> Parse(std::string_view text, std::string_view source);

  // The tenant of an `authorization` metadata value. UNAUTHENTICATED when it is missing,
  // not "Bearer KEY", or the key is unknown (the message says which, never the key).
  absl::StatusOr<std::string> Authenticate(std::string_view authorization) const;
  size_t size() const { return tenant_by_hash_.size(); }

 private:
  std::map<std::string, std::string> tenant_by_hash_;
};

bool ValidTenantName(std::string_view tenant);

// Token buckets, one per tenant: `rate` requests per second on average, bursts up to
// `burst`. Thread-safe. rate <= 0 disables the limit.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  bool Allow(const std::string& tenant);
  bool Allow(const std::string& tenant, std::chrono::steady_clock::time_point now);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  double rate_, burst_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace prover::server
