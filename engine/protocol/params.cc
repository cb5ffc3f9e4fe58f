#include "engine/protocol/params.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/base/bits.h"

namespace prover::stark {
namespace {

absl::Status Range(const char* name, uint32_t value, uint32_t lo, uint32_t hi) {
  if (value < lo || value > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat("params.", name, ": ", value, " outside [", lo, ", ", hi, "]"));
  }
  return absl::OkStatus();
}

}  // namespace

uint32_t SecurityBits(const ProofParams& params, std::span<const int> table_log_rows,
                      uint32_t max_constraint_degree) {
  int max_log_lde = 0;
  for (int l : table_log_rows) max_log_lde = std::max(max_log_lde, l + int(params.log_blowup));
  const int cap = 191 - max_log_lde - int(CeilLog2(max_constraint_degree));
  const uint64_t fri = uint64_t{params.num_queries} * params.log_blowup + params.grinding_bits;
  return static_cast<uint32_t>(std::max<int64_t>(0, std::min<int64_t>(fri, cap)));
}

absl::Status ValidateParams(const ProofParams& params, uint32_t max_constraint_degree) {
  if (auto s = Range("log_blowup", params.log_blowup, 1, 4); !s.ok()) return s;
  if (auto s = Range("num_queries", params.num_queries, 1, 256); !s.ok()) return s;
  if (auto s = Range("grinding_bits", params.grinding_bits, 0, 32); !s.ok()) return s;
  if (auto s = Range("log_fri_arity", params.log_fri_arity, 1, 4); !s.ok()) return s;
  if (auto s = Range("log_final_size", params.log_final_size, 0, 10); !s.ok()) return s;
  if (auto s = Range("first_layer", uint32_t(params.first_layer), 0, 2); !s.ok()) return s;
  // The quotient has degree below (D - 1) n and is evaluated on the n B points of the LDE.
  if ((uint32_t{1} << params.log_blowup) + 1 < max_constraint_degree) {
    return absl::InvalidArgumentError(
        absl::StrCat("params.log_blowup: blowup ", uint32_t{1} << params.log_blowup,
                     " is below max_constraint_degree - 1 = ", max_constraint_degree - 1));
  }
  return absl::OkStatus();
}

std::vector<uint64_t> GroupRows(std::span<const uint64_t> positions, int log_arity) {
  std::vector<uint64_t> groups;
  for (uint64_t u : positions) groups.push_back(u >> log_arity);
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  std::vector<uint64_t> out;
  for (uint64_t c : groups) {
    for (uint64_t j = 0; j < (uint64_t{1} << log_arity); ++j) out.push_back((c << log_arity) + j);
  }
  return out;
}

FriSchedule MakeFriSchedule(const ProofParams& params, std::span<const int> table_log_lde) {
  std::vector<int> sizes(table_log_lde.begin(), table_log_lde.end());
  std::sort(sizes.begin(), sizes.end());
  const int log_final =
      std::min<int>(int(params.log_final_size + params.log_blowup), sizes.front());
  FriSchedule s;
  int m = sizes.back();
  while (m > log_final) {
    // T_i: the largest of F_size and the table sizes below M_i.
    int target = log_final;
    for (int l : sizes) {
      if (l < m) target = std::max(target, l);
    }
    const int arity = std::min<int>(int(params.log_fri_arity), m - target);
    s.log_size.push_back(m);
    s.log_arity.push_back(arity);
    m -= arity;
  }
  s.log_size.push_back(m);
  s.virtual_first = params.first_layer == FirstLayer::kVirtual && !s.log_arity.empty();
  return s;
}

}  // namespace prover::stark
