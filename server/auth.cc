#include "server/auth.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "server/sha256.h"

namespace prover::server {

bool ValidTenantName(std::string_view t) {
  if (t.empty() || t.size() > 64) return false;
  for (char c : t) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<KeyRing> KeyRing::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--api-keys: cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

absl::StatusOr<KeyRing> KeyRing::Parse(std::string_view text, std::string_view source) {
  KeyRing ring;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const auto where = [&] { return absl::StrCat(std::string(source), ":", number, ": "); };
    std::istringstream fields(line);
    std::string tenant, hash, extra;
    if (!(fields >> tenant) || tenant[0] == '#') continue;
    if (!(fields >> hash)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "expected 'TENANT SHA256_HEX_OF_KEY'"));
    }
    if (fields >> extra) {
      return absl::InvalidArgumentError(absl::StrCat(where(), "unexpected text after the hash"));
    }
    if (!ValidTenantName(tenant)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "tenant '", tenant, "' is not 1..64 characters of [A-Za-z0-9._-]"));
    }
    bool hex = hash.size() == 64;
    for (char& c : hash) {
      if (c >= 'A' && c <= 'F') c = char(c - 'A' + 'a');
      hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }
    if (!hex) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "the key hash must be 64 hex digits (printf %s KEY | sha256sum)"));
    }
    if (!ring.tenant_by_hash_.emplace(hash, tenant).second) {
      return absl::InvalidArgumentError(absl::StrCat(where(), "this key hash is listed twice"));
    }
  }
  return ring;
}

absl::StatusOr<std::string> KeyRing::Authenticate(std::string_view authorization) const {
  if (authorization.empty()) {
    return absl::UnauthenticatedError("missing 'authorization: Bearer KEY' metadata");
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer ||
      authorization.size() == kBearer.size()) {
    return absl::UnauthenticatedError("the authorization metadata must be 'Bearer KEY'");
  }
  // Lookup by the key's hash: the comparison never touches the secret itself.
  const std::string hash = Sha256Hex(authorization.substr(kBearer.size()));
  auto it = tenant_by_hash_.find(hash);
  if (it == tenant_by_hash_.end()) return absl::UnauthenticatedError("unknown API key");
  return it->second;
}

bool RateLimiter::Allow(const std::string& tenant) {
  return Allow(tenant, std::chrono::steady_clock::now());
}

bool RateLimiter::Allow(const std::string& tenant, std::chrono::steady_clock::time_point now) {
  if (rate_ <= 0) return true;
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = buckets_.try_emplace(tenant, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted) {
    const double dt = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + dt * rate_);
    b.last = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace prover::server
