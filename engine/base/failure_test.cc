#include "engine/base/failure.h"

#include <gtest/gtest.h>

namespace prover {
namespace {

TEST(FailureKind, RidesOnTheStatusAndSurvivesCopies) {
  const FailureKind all[] = {FailureKind::kInvalidInput, FailureKind::kConstraintsUnsatisfied,
                             FailureKind::kUnprovable,   FailureKind::kResources,
                             FailureKind::kDeviceFault,  FailureKind::kDeviceLost,
                             FailureKind::kBug};
  for (FailureKind k : all) {
    const absl::Status s = WithFailureKind(absl::InternalError("x"), k);
    const absl::Status copy = s;
    EXPECT_EQ(FailureKindOf(copy), k) << FailureKindName(k);
    EXPECT_EQ(ClassifyFailure(copy), k);
    EXPECT_EQ(copy.code(), absl::StatusCode::kInternal) << "the code is kept";
  }
  EXPECT_TRUE(WithFailureKind(absl::OkStatus(), FailureKind::kBug).ok());
}

TEST(FailureKind, AnUnmarkedStatusIsClassifiedByWhatItsCodeCanOnlyMean) {
  EXPECT_EQ(FailureKindOf(absl::InvalidArgumentError("x")), std::nullopt);
  EXPECT_EQ(ClassifyFailure(absl::InvalidArgumentError("x")), FailureKind::kInvalidInput);
  EXPECT_EQ(ClassifyFailure(absl::ResourceExhaustedError("x")), FailureKind::kResources);
  EXPECT_EQ(ClassifyFailure(absl::FailedPreconditionError("x")), FailureKind::kBug)
      << "an unmarked FAILED_PRECONDITION is not taken for a broken trace";
  EXPECT_EQ(ClassifyFailure(absl::InternalError("x")), FailureKind::kBug);
}

}  // namespace
}  // namespace prover
