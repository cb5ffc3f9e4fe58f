#include "engine/air/workloads/builtin.h"

#include "absl/strings/str_cat.h"
#include "engine/air/workloads/fibonacci.h"
#include "engine/air/workloads/zkvm.h"

namespace prover::air {
namespace {

absl::StatusOr<std::vector<int>> FibonacciLogRows(int size) {
  if (size < 1 || size > 26) {
    return absl::InvalidArgumentError(
        absl::StrCat("fibonacci: log_rows ", size, " outside [1, 26]"));
  }
  return std::vector<int>{size};
}

const BuiltinWorkload kWorkloads[] = {
    {"fibonacci", "log_rows", 1, 26, /*takes_seed=*/false, &FibonacciAir, &FibonacciLogRows,
     [](int size, uint64_t) { return Fibonacci(size); },
     [](int size, uint64_t) { return FibonacciPublicInputs(size); }},
    {"zkvm", "scale", kZkvmMinScale, kZkvmMaxScale, /*takes_seed=*/true, &ZkvmAir, &ZkvmLogRows,
     [](int size, uint64_t seed) { return Zkvm(size, seed); }, nullptr},
};

}  // namespace

std::span<const BuiltinWorkload> BuiltinWorkloads() { return kWorkloads; }

const BuiltinWorkload* FindWorkload(const std::string& name) {
  for (const BuiltinWorkload& w : kWorkloads) {
    if (name == w.name) return &w;
  }
  return nullptr;
}

std::string WorkloadNames() {
  std::string out;
  for (const BuiltinWorkload& w : kWorkloads)
    absl::StrAppend(&out, out.empty() ? "" : ", ", w.name);
  return out;
}

}  // namespace prover::air
