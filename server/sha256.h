// SHA-256 (OpenSSL), for artifact checksums, request content hashes and API keys. Hex is
// lower case, as `sha256sum` prints it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace prover::server {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // Ends the hash; the object must not be used afterwards.
  std::array<uint8_t, 32> Final();
  std::string FinalHex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string Sha256Hex(std::string_view data);
std::string ToHex(const uint8_t* data, size_t size);

}  // namespace prover::server
