// The Fiat-Shamir transcript: a Keccak-256 hash chain over labelled messages.
//
// State: a 32-byte digest s, initially Keccak256("prover.transcript.v1" || u64 len(ds) ||
// ds) for a domain separator ds. With u64 values little-endian and tags of one byte:
//   absorb(label, m):  s <- Keccak256(s || 0x01 || u64 len(label) || label || u64 len(m) || m)
//   challenge(label):  s <- Keccak256(s || 0x02 || u64 len(label) || label), and the
//                      challenge bytes are the stream Keccak256(s || 0x03 || u64 i),
//                      i = 0, 1, 2, ..., read as little-endian u64 words.
// Sampling is exact, with no bias: a base element is the first word below p (a word is
// rejected with probability 2^-32); an extension element is three base elements (c0, c1,
// c2); an index below 2^k is the low k bits of a word.
//
// Proof of work: for `bits` in [0, 64], a nonce is valid when
//   Keccak256(s || 0x04 || u64 bits || u64 nonce)
// starts with `bits` zero bits (the first byte's most significant bit first). Grind()
// returns the smallest valid nonce, whatever the thread count, so proofs are
// deterministic; the protocol then absorbs the nonce.
//
// Not thread-safe: one transcript belongs to one proof (Grind parallelises internally).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"
#include "engine/hash/keccak.h"

namespace prover {

class TranscriptRecorder;

class Transcript {
 public:
  explicit Transcript(std::string_view domain_separator);

  void Absorb(std::string_view label, std::span<const uint8_t> message);
  void AbsorbU64(std::string_view label, uint64_t value);
  void AbsorbDigest(std::string_view label, const Digest& digest);
  void AbsorbFp(std::string_view label, std::span<const Fp> values);
  void AbsorbFp3(std::string_view label, std::span<const Fp3> values);

  Fp ChallengeFp(std::string_view label);
  Fp3 ChallengeFp3(std::string_view label);
  // `count` indices, each uniform in [0, 2^log_domain) (repeats possible), log_domain <= 64.
  std::vector<uint64_t> ChallengeIndices(std::string_view label, size_t count, int log_domain);

  // The smallest nonce valid for `bits` at the current state (bits in [0, 64]; expected
  // work 2^bits hashes).
  uint64_t Grind(int bits) const;
  // The same, polling `stop` between rounds (a few milliseconds each): nullopt when it was
  // requested before a nonce was found.
  std::optional<uint64_t> Grind(int bits, const std::stop_token& stop) const;
  bool CheckProofOfWork(int bits, uint64_t nonce) const;

  const Digest& state() const { return state_; }

 private:
  // Ratchets the state with the label and returns a reader of the challenge stream.
  class Stream;
  Stream StartChallenge(std::string_view label);

  Digest state_;
  TranscriptRecorder* recorder_;  // the thread's at construction, or null
};

// For tests: while one lives, every transcript constructed on its thread logs each
// operation in order ("absorb LABEL BYTES", "challenge LABEL", "proof of work BITS"), so
// a test can compare the prover's sequence with the verifier's. One per thread at a time.
class TranscriptRecorder {
 public:
  TranscriptRecorder();
  ~TranscriptRecorder();
  TranscriptRecorder(const TranscriptRecorder&) = delete;
  TranscriptRecorder& operator=(const TranscriptRecorder&) = delete;
  const std::vector<std::string>& operations() const { return operations_; }

 private:
  friend class Transcript;
  static TranscriptRecorder* Current();
  std::vector<std::string> operations_;
};

}  // namespace prover
