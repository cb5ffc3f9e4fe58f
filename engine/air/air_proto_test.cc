#include "engine/air/air_proto.h"

#include <gtest/gtest.h>

#include "engine/air/workloads/fibonacci.h"

namespace prover::air {
namespace {

TEST(AirProto, RoundTripsThroughProtoAndJson) {
  Air air = FibonacciAir();
  air.tables[0].fixed_log_rows = 5;
  air.tables[0].interactions.push_back({3, {0, 1}, 4});
  auto back = AirFromProto(AirToProto(air));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(AirDigest(*back), AirDigest(air));
  const std::string json = AirToJson(air);
  auto from_json = AirFromJson(json);
  ASSERT_TRUE(from_json.ok()) << from_json.status() << "\n" << json;
  EXPECT_EQ(AirDigest(*from_json), AirDigest(air));
}

TEST(AirProto, HandWrittenJson) {
  // x' = x * x on every transition; x starts at the public input.
  const char* json = R"({
    "name": "squares", "max_constraint_degree": 2, "public_inputs": ["x0"],
    "tables": [{
      "name": "sq", "num_columns": 1,
      "exprs": [
        {"column": {"index": 0}},
        {"column": {"index": 0, "next": true}},
        {"mul": {"lhs": 0, "rhs": 0}},
        {"sub": {"lhs": 1, "rhs": 2}},
        {"public_input": 0},
        {"sub": {"lhs": 0, "rhs": 4}},
        {"constant": "18446744069414584320"}
      ],
      "constraints": [
        {"kind": "TRANSITION", "expr": 3, "name": "square"},
        {"kind": "FIRST_ROW", "expr": 5}
      ]
    }]
  })";
  auto air = AirFromJson(json);
  ASSERT_TRUE(air.ok()) << air.status();
  EXPECT_EQ(air->tables[0].exprs[6].value, Fp::kModulus - 1);
  EXPECT_EQ(air->tables[0].constraints[0].kind, ConstraintKind::kTransition);
}

TEST(AirProto, ErrorsCarryThePath) {
  auto expect = [](const std::string& json, const std::string& message) {
    auto air = AirFromJson(json);
    ASSERT_FALSE(air.ok());
    EXPECT_EQ(air.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(air.status().message().find(message), std::string::npos) << air.status().message();
  };
  const std::string head =
      R"({"max_constraint_degree": 2, "tables": [{"num_columns": 2, "exprs": [)";
  expect(
      head + R"({"column": {"index": 5}}], "constraints": [{"kind": "EVERY_ROW", "expr": 0}]}]})",
      "tables[0].exprs[0]: column 5 out of range (table has 2 columns)");
  expect(head + R"({}], "constraints": []}]})", "tables[0].exprs[0]: no node set");
  expect(head + R"({"column": {"index": 0}}], "constraints": [{"expr": 0}]}]})",
         "tables[0].constraints[0].kind: kind must be");
  expect(head + R"({"constant": "18446744069414584321"}]}]})",
         "tables[0].exprs[0]: non-canonical constant");
  expect(R"({"tables": [{"bogus_field": 1}]})", "air json:");
  expect("not json", "air json:");
}

}  // namespace
}  // namespace prover::air
