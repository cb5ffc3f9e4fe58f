#include "engine/base/failure.h"

#include <string>

#include "absl/strings/cord.h"

namespace prover {
namespace {

constexpr char kPayloadUrl[] = "type.prover.dev/failure-kind";

constexpr FailureKind kKinds[] = {
    FailureKind::kInvalidInput, FailureKind::kConstraintsUnsatisfied,
    FailureKind::kUnprovable,   FailureKind::kResources,
    FailureKind::kDeviceFault,  FailureKind::kDeviceLost,
    FailureKind::kBug,
};

}  // namespace

std::string_view FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kInvalidInput:
      return "invalid_input";
    case FailureKind::kConstraintsUnsatisfied:
      return "constraints_unsatisfied";
    case FailureKind::kUnprovable:
      return "unprovable";
    case FailureKind::kResources:
      return "resources";
    case FailureKind::kDeviceFault:
      return "device_fault";
    case FailureKind::kDeviceLost:
      return "device_lost";
    case FailureKind::kBug:
      return "bug";
  }
  return "bug";
}

absl::Status WithFailureKind(absl::Status s, FailureKind kind) {
  if (!s.ok()) s.SetPayload(kPayloadUrl, absl::Cord(std::string(FailureKindName(kind))));
  return s;
}

std::optional<FailureKind> FailureKindOf(const absl::Status& s) {
  const auto payload = s.GetPayload(kPayloadUrl);
  if (!payload) return std::nullopt;
  const std::string name(*payload);
  for (FailureKind k : kKinds) {
    if (FailureKindName(k) == name) return k;
  }
  return std::nullopt;
}

FailureKind ClassifyFailure(const absl::Status& s) {
  if (auto k = FailureKindOf(s)) return *k;
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return FailureKind::kInvalidInput;
    case absl::StatusCode::kResourceExhausted:
      return FailureKind::kResources;
    default:
      return FailureKind::kBug;
  }
}

}  // namespace prover
