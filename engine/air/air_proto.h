// Conversion between the C++ AIR IR and prover.v1.Air (binary protobuf or JSON).
// Every conversion from outside data validates the result (air::Validate) and reports
// errors as INVALID_ARGUMENT with the path of the offending field.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/air/air.h"
#include "prover/v1/air.pb.h"

namespace prover::air {

absl::StatusOr<Air> AirFromProto(const v1::Air& proto, const AirLimits& limits = AirLimits());
v1::Air AirToProto(const Air& air);

absl::StatusOr<Air> AirFromJson(std::string_view json, const AirLimits& limits = AirLimits());
std::string AirToJson(const Air& air);

}  // namespace prover::air
