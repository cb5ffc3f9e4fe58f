// libFuzzer target: proof decoding and verification. Any byte string either fails to decode
// (with a status, never a crash) or decodes to a proof whose re-encoding is exactly the
// input (one encoding per proof), and verifying it against the fibonacci AIR answers
// without crashing. PROVER_FUZZ_SEEDS=DIR writes a valid proof there as a seed.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <span>

#include "engine/air/workloads/fibonacci.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/protocol/proof.h"
#include "engine/stark/prover.h"
#include "engine/stark/verifier.h"

namespace {

const prover::air::WorkloadInstance& Fib() {
  static const auto* w = new prover::air::WorkloadInstance(*prover::air::Fibonacci(4));
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("PROVER_FUZZ_SEEDS")) {
    // Seeds: the default parameters (no FRI fold at this height), and blowup 2 with a
    // final size of 1, which folds through several layers, with layer 0 committed and
    // virtual.
    auto backend = prover::backend::MakeCpuBackend();
    struct Seed {
      const char* name;
      uint32_t log_blowup, log_final_size;
      prover::stark::FirstLayer first;
    };
    for (const Seed& seed :
         {Seed{"fib4.proof", 3, 5, prover::stark::FirstLayer::kAuto},
          Seed{"fib4-committed.proof", 1, 0, prover::stark::FirstLayer::kCommitted},
          Seed{"fib4-virtual.proof", 1, 0, prover::stark::FirstLayer::kVirtual}}) {
      prover::stark::ProveOptions o;
      o.params.log_blowup = seed.log_blowup;
      o.params.log_final_size = seed.log_final_size;
      o.params.first_layer = seed.first;
      o.params.grinding_bits = 4;
      o.params.num_queries = 100;
      o.min_security_bits = 0;
      auto r = prover::stark::Prove(*backend, Fib().air, Fib().trace, Fib().public_inputs, o);
      if (!r.ok()) __builtin_trap();  // a seed that cannot be made is a bug here
      const auto bytes = prover::stark::EncodeProof(r->proof);
      std::ofstream(std::string(dir) + "/" + seed.name, std::ios::binary)
          .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto proof = prover::stark::DecodeProof(bytes);
  if (!proof.ok()) {
    if (proof.status().message().empty()) __builtin_trap();
    return 0;
  }
  const auto again = prover::stark::EncodeProof(*proof);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) __builtin_trap();
  prover::stark::VerifyOptions vo;
  vo.min_security_bits = 0;
  (void)prover::stark::Verify(Fib().air, Fib().public_inputs, *proof, vo);
  return 0;
}
