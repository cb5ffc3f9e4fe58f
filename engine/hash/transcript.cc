#include "engine/hash/transcript.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>

#include "engine/field/field_codec.h"
#include "tbb/info.h"
#include "tbb/parallel_for.h"

namespace prover {
namespace {

constexpr uint8_t kTagAbsorb = 0x01;
constexpr uint8_t kTagChallenge = 0x02;
constexpr uint8_t kTagStream = 0x03;
constexpr uint8_t kTagPow = 0x04;
constexpr size_t kPowMessageBytes = 32 + 1 + 8 + 8;

void AbsorbLabel(Keccak256Hasher& h, std::string_view label) {
  h.AbsorbU64LE(label.size());
  h.Absorb(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(label.data()), label.size()));
}

void PowMessage(const Digest& state, int bits, uint64_t nonce, uint8_t* out) {
  std::memcpy(out, state.data(), 32);
  out[32] = kTagPow;
  StoreU64LE(static_cast<uint64_t>(bits), out + 33);
  StoreU64LE(nonce, out + 41);
}

bool HasLeadingZeroBits(const Digest& d, int bits) {
  int i = 0;
  for (; bits >= 8; bits -= 8, ++i) {
    if (d[i] != 0) return false;
  }
  return bits == 0 || (d[i] >> (8 - bits)) == 0;
}

}  // namespace

namespace {
thread_local TranscriptRecorder* g_recorder = nullptr;
}  // namespace

TranscriptRecorder::TranscriptRecorder() { g_recorder = this; }
TranscriptRecorder::~TranscriptRecorder() {
  if (g_recorder == this) g_recorder = nullptr;
}
TranscriptRecorder* TranscriptRecorder::Current() { return g_recorder; }

class Transcript::Stream {
 public:
  explicit Stream(const Digest& seed) : seed_(seed) {}
  uint64_t NextWord() {
    if (pos_ == 4) {
      uint8_t buf[32 + 1 + 8];
      std::memcpy(buf, seed_.data(), 32);
      buf[32] = kTagStream;
      StoreU64LE(block_index_++, buf + 33);
      block_ = Keccak256(std::span<const uint8_t>(buf, sizeof(buf)));
      pos_ = 0;
    }
    return LoadU64LE(block_.data() + 8 * pos_++);
  }
  Fp NextFp() {
    for (;;) {
      uint64_t w = NextWord();
      if (w < Fp::kModulus) return Fp::FromCanonical(w);
    }
  }

 private:
  Digest seed_;
  Digest block_{};
  uint64_t block_index_ = 0;
  int pos_ = 4;
};

Transcript::Transcript(std::string_view domain_separator)
    : recorder_(TranscriptRecorder::Current()) {
  Keccak256Hasher h;
  constexpr std::string_view kName = "prover.transcript.v1";
  h.Absorb(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kName.data()), kName.size()));
  AbsorbLabel(h, domain_separator);
  state_ = h.Finalize();
}

void Transcript::Absorb(std::string_view label, std::span<const uint8_t> message) {
  if (recorder_ != nullptr) {
    recorder_->operations_.push_back("absorb " + std::string(label) + " " +
                                     std::to_string(message.size()));
  }
  Keccak256Hasher h;
  h.Absorb(state_);
  const uint8_t tag = kTagAbsorb;
  h.Absorb(std::span<const uint8_t>(&tag, 1));
  AbsorbLabel(h, label);
  h.AbsorbU64LE(message.size());
  h.Absorb(message);
  state_ = h.Finalize();
}

void Transcript::AbsorbU64(std::string_view label, uint64_t value) {
  uint8_t b[8];
  StoreU64LE(value, b);
  Absorb(label, b);
}

void Transcript::AbsorbDigest(std::string_view label, const Digest& digest) {
  Absorb(label, digest);
}

void Transcript::AbsorbFp(std::string_view label, std::span<const Fp> values) {
  std::vector<uint8_t> bytes(8 * values.size());
  for (size_t i = 0; i < values.size(); ++i) EncodeFp(values[i], bytes.data() + 8 * i);
  Absorb(label, bytes);
}

void Transcript::AbsorbFp3(std::string_view label, std::span<const Fp3> values) {
  std::vector<uint8_t> bytes(24 * values.size());
  for (size_t i = 0; i < values.size(); ++i) EncodeFp3(values[i], bytes.data() + 24 * i);
  Absorb(label, bytes);
}

Transcript::Stream Transcript::StartChallenge(std::string_view label) {
  if (recorder_ != nullptr) recorder_->operations_.push_back("challenge " + std::string(label));
  Keccak256Hasher h;
  h.Absorb(state_);
  const uint8_t tag = kTagChallenge;
  h.Absorb(std::span<const uint8_t>(&tag, 1));
  AbsorbLabel(h, label);
  state_ = h.Finalize();
  return Stream(state_);
}

Fp Transcript::ChallengeFp(std::string_view label) { return StartChallenge(label).NextFp(); }

Fp3 Transcript::ChallengeFp3(std::string_view label) {
  Stream s = StartChallenge(label);
  Fp c0 = s.NextFp(), c1 = s.NextFp(), c2 = s.NextFp();
  return Fp3(c0, c1, c2);
}

std::vector<uint64_t> Transcript::ChallengeIndices(std::string_view label, size_t count,
                                                   int log_domain) {
  Stream s = StartChallenge(label);
  const uint64_t mask = log_domain >= 64 ? ~0ull : (uint64_t{1} << log_domain) - 1;
  std::vector<uint64_t> out(count);
  for (auto& x : out) x = s.NextWord() & mask;
  return out;
}

bool Transcript::CheckProofOfWork(int bits, uint64_t nonce) const {
  if (recorder_ != nullptr)
    recorder_->operations_.push_back("proof of work " + std::to_string(bits));
  if (bits < 0 || bits > 64) return false;
  uint8_t msg[kPowMessageBytes];
  PowMessage(state_, bits, nonce, msg);
  return HasLeadingZeroBits(Keccak256(std::span<const uint8_t>(msg, sizeof(msg))), bits);
}

uint64_t Transcript::Grind(int bits) const { return *Grind(bits, std::stop_token()); }

std::optional<uint64_t> Transcript::Grind(int bits, const std::stop_token& stop) const {
  if (recorder_ != nullptr)
    recorder_->operations_.push_back("proof of work " + std::to_string(bits));
  bits = std::clamp(bits, 0, 64);
  if (bits == 0) return 0;
  // Rounds of `chunks` consecutive chunks searched in parallel; the first round with a
  // hit has covered every smaller nonce, so its minimum is the global minimum.
  constexpr uint64_t kChunk = 4096;
  const uint64_t chunks = std::max(2, tbb::info::default_concurrency()) * 2;
  for (uint64_t base = 0;; base += chunks * kChunk) {
    if (stop.stop_requested()) return std::nullopt;
    std::atomic<uint64_t> best{std::numeric_limits<uint64_t>::max()};
    tbb::parallel_for(uint64_t{0}, chunks, [&](uint64_t c) {
      const uint64_t first = base + c * kChunk;
      if (first > best.load(std::memory_order_relaxed)) return;
      std::vector<uint8_t> msgs(kPowMessageBytes * kChunk);
      for (uint64_t i = 0; i < kChunk; ++i)
        PowMessage(state_, bits, first + i, &msgs[kPowMessageBytes * i]);
      std::vector<Digest> digests(kChunk);
      Keccak256Batch(msgs.data(), kPowMessageBytes, kPowMessageBytes, kChunk, digests.data());
      for (uint64_t i = 0; i < kChunk; ++i) {
        if (HasLeadingZeroBits(digests[i], bits)) {
          uint64_t nonce = first + i, cur = best.load();
          while (nonce < cur && !best.compare_exchange_weak(cur, nonce)) {
          }
          break;
        }
      }
    });
    if (best.load() != std::numeric_limits<uint64_t>::max()) return best.load();
  }
}

}  // namespace prover
