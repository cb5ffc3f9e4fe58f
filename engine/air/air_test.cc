#include "engine/air/air.h"

#include <gtest/gtest.h>

#include "engine/air/workloads/fibonacci.h"

namespace prover::air {
namespace {

void ExpectInvalid(const Air& air, const std::string& message) {
  absl::Status s = Validate(air);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find(message), std::string::npos) << "got: " << s.message();
}

TEST(AirValidate, FibonacciIsValid) { EXPECT_TRUE(Validate(FibonacciAir()).ok()); }

TEST(AirValidate, ErrorsCarryThePath) {
  {
    Air air = FibonacciAir();
    air.tables[0].exprs[1] = Expr::Column(80);
    ExpectInvalid(air, "tables[0].exprs[1]: column 80 out of range (table has 2 columns)");
  }
  {
    Air air = FibonacciAir();
    air.tables[0].exprs.push_back(Expr::Binary(ExprOp::kAdd, 0, 99));
    ExpectInvalid(air, "tables[0].exprs[13]: operand 99 does not precede the node");
  }
  {
    Air air = FibonacciAir();
    air.tables[0].exprs[0] = Expr{ExprOp::kConstant, Fp::kModulus, 0, 0, 0};
    ExpectInvalid(air, "tables[0].exprs[0]: non-canonical constant");
  }
  {
    Air air = FibonacciAir();
    air.tables[0].exprs[4] = Expr::PublicInput(3);
    ExpectInvalid(air, "tables[0].exprs[4]: public input 3 out of range (the AIR has 3)");
  }
  {
    Air air = FibonacciAir();
    air.tables[0].exprs.push_back(Expr::Challenge(2));
    ExpectInvalid(air, "tables[0].exprs[13]: challenge 2 out of range");
  }
  {
    Air air = FibonacciAir();
    air.tables[0].exprs[2] = Expr::Column(0, 2);
    ExpectInvalid(air, "tables[0].exprs[2]: row offset 2");
  }
  {
    Air air = FibonacciAir();  // an unused field set: the AIR would have a second encoding
    air.tables[0].exprs[2].lhs = 1;
    ExpectInvalid(air, "tables[0].exprs[2]: a field this operation does not use is not zero");
  }
  {
    Air air = FibonacciAir();
    Expr e = Expr::Binary(ExprOp::kAdd, 0, 1);
    e.value = 5;
    air.tables[0].exprs.push_back(e);
    ExpectInvalid(air, "tables[0].exprs[13]: a field this operation does not use is not zero");
  }
  {
    Air air = FibonacciAir();
    air.tables[0].constraints[4].expr = 500;
    ExpectInvalid(air, "tables[0].constraints[4].expr: expression 500 out of range");
  }
  {
    Air air = FibonacciAir();               // first-row constraint reading the next row
    air.tables[0].constraints[0].expr = 9;  // a_next - b
    ExpectInvalid(air, "tables[0].constraints[0].expr: only transition constraints may read");
  }
  {
    Air air = FibonacciAir();  // degree 3 in an AIR of maximum degree 2
    Table& t = air.tables[0];
    uint32_t sq = t.Add(Expr::Binary(ExprOp::kMul, 0, 0));
    uint32_t cube = t.Add(Expr::Binary(ExprOp::kMul, sq, 0));
    t.constraints.push_back({ConstraintKind::kEveryRow, cube, "cube"});
    ExpectInvalid(air, "tables[0].constraints[5].expr: degree 3 exceeds the AIR's maximum 2");
  }
  {
    Air air = FibonacciAir();  // a degree-2 last-row constraint with maximum degree 2
    Table& t = air.tables[0];
    uint32_t sq = t.Add(Expr::Binary(ExprOp::kMul, 1, 1));
    t.constraints.push_back({ConstraintKind::kLastRow, sq, "square"});
    ExpectInvalid(air, "tables[0].constraints[5].expr: degree 2 too high for a first- or last-row");
  }
  {
    Air air = FibonacciAir();
    air.tables[0].constraints.push_back({ConstraintKind::kEveryRow, 4, "constant"});
    ExpectInvalid(air, "tables[0].constraints[5].expr: constant constraint");
  }
  {
    Air air = FibonacciAir();
    air.tables[0].interactions.push_back({1, {}, 0});
    ExpectInvalid(air, "tables[0].interactions[0].values: 0 values");
  }
  {
    Air air = FibonacciAir();
    air.tables[0].interactions.push_back({1, {0, 2}, 0});  // value 1 reads the next row
    ExpectInvalid(
        air,
        "tables[0].interactions[0].values[1]: interaction expressions read the current row only");
  }
  {
    // A challenge in a multiplicity: refused (the CPU engine once dereferenced a null
    // base-field buffer for it).
    Air air = FibonacciAir();
    Table& t = air.tables[0];
    const uint32_t ch = t.Add(Expr::Challenge(0));
    const uint32_t m = t.Add(Expr::Binary(ExprOp::kMul, 0, ch));
    t.interactions.push_back({1, {0}, m});
    ExpectInvalid(
        air,
        "tables[0].interactions[0].multiplicity: interaction expressions may not use challenges");
  }
  {
    Air air = FibonacciAir();
    air.tables.clear();
    ExpectInvalid(air, "tables: 0 tables");
  }
  {
    Air air = FibonacciAir();
    air.tables[0].num_columns = 0;
    ExpectInvalid(air, "tables[0].num_columns: 0 columns");
  }
  {
    Air air = FibonacciAir();
    air.max_constraint_degree = 1;
    ExpectInvalid(air, "max_constraint_degree: 1 outside [2, 8]");
  }
  {
    Air air = FibonacciAir();
    air.tables[0].column_names = {"a"};
    ExpectInvalid(air, "tables[0].column_names: 1 names for 2 columns");
  }
}

TEST(AirValidate, LimitsAreEnforced) {
  Air air = FibonacciAir();
  AirLimits limits;
  limits.max_columns = 1;
  absl::Status s = Validate(air, limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tables[0].num_columns"), std::string::npos);
}

TEST(AirValidate, NamesAndTheWholeAirAreBounded) {
  AirLimits limits;
  limits.max_name_bytes = 10;  // FibonacciAir's own names are shorter
  {
    Air air = FibonacciAir();
    air.name = std::string(11, 'n');
    absl::Status s = Validate(air, limits);
    EXPECT_NE(s.message().find("name: 11 bytes"), std::string::npos) << s;
  }
  {
    Air air = FibonacciAir();
    air.tables[0].column_names = {"a", std::string(50000, 'x')};
    absl::Status s = Validate(air, limits);
    EXPECT_NE(s.message().find("tables[0].column_names[1]: 50000 bytes"), std::string::npos) << s;
    EXPECT_LT(s.message().size(), 200u) << "the error echoes no more than the path and a size";
  }
  {
    Air air = FibonacciAir();
    air.tables[0].constraints[0].name = std::string(11, 'c');
    EXPECT_NE(Validate(air, limits).message().find("tables[0].constraints[0].name"),
              std::string::npos);
  }
  {
    Air air = FibonacciAir();
    air.public_inputs[0] = std::string(11, 'p');
    EXPECT_NE(Validate(air, limits).message().find("public_inputs[0]"), std::string::npos);
  }
  {
    AirLimits few;
    few.max_total_exprs = 3;
    absl::Status s = Validate(FibonacciAir(), few);
    EXPECT_NE(s.message().find("expression nodes in all; at most 3"), std::string::npos) << s;
  }
}

// A chain of squarings reaches degree 2^32 and beyond: the degree must not wrap around to a
// small number that passes validation.
TEST(AirDegrees, SaturateInsteadOfWrapping) {
  Air air = FibonacciAir();
  Table& t = air.tables[0];
  uint32_t x = t.Add(Expr::Column(0)), p = x;
  for (int i = 0; i < 32; ++i) p = t.Add(Expr::Binary(ExprOp::kMul, p, p));  // x^(2^32)
  p = t.Add(Expr::Binary(ExprOp::kMul, p, x));                               // x^(2^32 + 1)
  EXPECT_EQ(NodeDegrees(t)[p], UINT32_MAX);
  t.constraints.push_back({ConstraintKind::kEveryRow, p, "huge"});
  const absl::Status s = Validate(air);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("degree"), std::string::npos) << s;
}

TEST(AirDegrees, FollowTheRules) {
  Table t;
  t.num_columns = 2;
  uint32_t a = t.Add(Expr::Column(0)), c = t.Add(Expr::Constant(Fp::FromCanonical(3)));
  uint32_t ab = t.Add(Expr::Binary(ExprOp::kMul, a, t.Add(Expr::Column(1, 1))));
  uint32_t s = t.Add(Expr::Binary(ExprOp::kAdd, ab, c));
  uint32_t n = t.Add(Expr::Neg(s));
  uint32_t cubed = t.Add(Expr::Binary(ExprOp::kMul, n, a));
  auto d = NodeDegrees(t);
  auto next = NodeUsesNextRow(t);
  EXPECT_EQ(d[a], 1u);
  EXPECT_EQ(d[c], 0u);
  EXPECT_EQ(d[ab], 2u);
  EXPECT_EQ(d[s], 2u);
  EXPECT_EQ(d[n], 2u);
  EXPECT_EQ(d[cubed], 3u);
  EXPECT_FALSE(next[a]);
  EXPECT_TRUE(next[ab]);
  EXPECT_TRUE(next[cubed]);
}

TEST(AirDigest, ChangesWithEveryField) {
  const Digest base = AirDigest(FibonacciAir());
  EXPECT_EQ(base, AirDigest(FibonacciAir()));
  std::vector<Air> variants(8, FibonacciAir());
  variants[0].name = "fibonacci2";
  variants[1].max_constraint_degree = 3;
  variants[2].public_inputs[0].push_back('!');
  variants[3].tables[0].num_columns = 3;
  variants[4].tables[0].exprs[0] = Expr::Column(1);
  variants[5].tables[0].constraints[0].kind = ConstraintKind::kLastRow;
  variants[6].tables[0].interactions.push_back({0, {0}, 1});
  variants[7].tables[0].fixed_log_rows = 10;
  for (size_t i = 0; i < variants.size(); ++i) EXPECT_NE(AirDigest(variants[i]), base) << i;
}

}  // namespace
}  // namespace prover::air
