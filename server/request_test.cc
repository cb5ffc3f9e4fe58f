#include "server/request.h"

#include "engine/air/air_proto.h"
#include "engine/air/workloads/fibonacci.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "gtest/gtest.h"

namespace prover::server {
namespace {

v1::SubmitProofRequest Fib(uint32_t log_rows) {
  v1::SubmitProofRequest r;
  r.mutable_builtin()->set_workload("fibonacci");
  r.mutable_builtin()->set_log_rows(log_rows);
  return r;
}

std::string ErrorOf(const v1::SubmitProofRequest& r, std::string_view trace = "") {
  auto p = PrepareJob(r, trace, RequestLimits());
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(p.status().message());
}

// A user statement equal to the fibonacci workload, with its trace bytes.
std::pair<v1::SubmitProofRequest, std::string> UserFib(int log_rows) {
  auto w = air::Fibonacci(log_rows);
  v1::SubmitProofRequest r;
  *r.mutable_user()->mutable_air() = air::AirToProto(w->air);
  for (Fp x : w->public_inputs) r.mutable_user()->add_public_inputs(x.value());
  const auto bytes = air::EncodeTrace(w->trace);
  return {r, std::string(bytes.begin(), bytes.end())};
}

// One reading of field elements for every request that carries them (submit, verify,
// the statement loaded to prove): canonical values pass, the first at or above p is named
// by its path and index.
TEST(FieldElements, NamesTheFirstValueThatIsNotCanonical) {
  google::protobuf::RepeatedField<uint64_t> v;
  v.Add(0);
  v.Add(Fp::kModulus - 1);
  auto ok = FieldElements(v, "public_inputs");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1], Fp::FromCanonical(Fp::kModulus - 1));
  v.Add(Fp::kModulus);
  v.Add(~uint64_t{0});
  const absl::Status bad = FieldElements(v, "user.public_inputs").status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), absl::StrCat("user.public_inputs[2]: ", Fp::kModulus,
                                        " is not a canonical field element"));
}

TEST(PrepareJob, BuiltinWorkloads) {
  auto fib = PrepareJob(Fib(10), "", RequestLimits());
  ASSERT_TRUE(fib.ok()) << fib.status();
  EXPECT_EQ(fib->workload, "fibonacci");
  EXPECT_EQ(fib->log_rows, std::vector<int>{10});
  v1::SubmitProofRequest zk;
  zk.mutable_builtin()->set_workload("zkvm");
  zk.mutable_builtin()->set_scale(12);
  auto z = PrepareJob(zk, "", RequestLimits());
  ASSERT_TRUE(z.ok()) << z.status();
  EXPECT_EQ(z->log_rows.size(), 16u);
  EXPECT_EQ(z->log_rows[0], 12);
}

TEST(PrepareJob, ErrorsStartWithTheFieldPath) {
  EXPECT_EQ(ErrorOf(v1::SubmitProofRequest()).rfind("statement:", 0), 0u);
  v1::SubmitProofRequest unknown;
  unknown.mutable_builtin()->set_workload("sha256");
  EXPECT_EQ(ErrorOf(unknown).rfind("builtin.workload: unknown workload 'sha256'", 0), 0u);
  EXPECT_EQ(ErrorOf(Fib(0)).rfind("builtin.log_rows:", 0), 0u);
  EXPECT_EQ(ErrorOf(Fib(30)).rfind("builtin.log_rows:", 0), 0u);
  auto rid = Fib(4);
  rid.set_request_id("has space");
  EXPECT_EQ(ErrorOf(rid).rfind("request_id:", 0), 0u);
  auto prio = Fib(4);
  prio.set_priority(1000);
  EXPECT_EQ(ErrorOf(prio).rfind("priority:", 0), 0u);
  auto weak = Fib(4);
  weak.mutable_options()->set_num_queries(5);
  EXPECT_EQ(ErrorOf(weak).rfind("options:", 0), 0u) << ErrorOf(weak);
  auto unknown_preset = Fib(4);
  unknown_preset.mutable_options()->set_security("proven-256");
  EXPECT_EQ(ErrorOf(unknown_preset).rfind("options.security: unknown preset", 0), 0u)
      << ErrorOf(unknown_preset);
  auto mixed = Fib(4);
  mixed.mutable_options()->set_security("proven-100");
  mixed.mutable_options()->set_num_queries(60);
  EXPECT_EQ(ErrorOf(mixed).rfind("options.security: a preset chooses every parameter", 0), 0u)
      << ErrorOf(mixed);
  auto out_of_reach = Fib(22);
  out_of_reach.mutable_options()->set_security("proven-128");
  RequestLimits big;
  big.max_log_rows = 22;
  auto refused = PrepareJob(out_of_reach, "", big);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(std::string(refused.status().message()).rfind("options.security: ", 0), 0u)
      << refused.status();
  EXPECT_NE(refused.status().message().find("out of reach"), std::string::npos);
  // A preset resolves to the parameters it names; a proven floor refuses the defaults.
  auto preset = Fib(8);
  preset.mutable_options()->set_security("proven-100");
  auto prepared = PrepareJob(preset, "", RequestLimits());
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->params.log_blowup, 4u);
  EXPECT_GT(prepared->params.num_queries, 28u);
  RequestLimits proven_floor;
  proven_floor.min_proven_security_bits = 100;
  auto defaults = PrepareJob(Fib(8), "", proven_floor);
  ASSERT_FALSE(defaults.ok());
  EXPECT_NE(defaults.status().message().find("proven security"), std::string::npos)
      << defaults.status();
  EXPECT_TRUE(PrepareJob(preset, "", proven_floor).ok());
  // The first FRI layer: auto (resolved), an explicit choice, with a preset too, and the
  // refusals.
  auto fib_auto = PrepareJob(Fib(8), "", RequestLimits());
  ASSERT_TRUE(fib_auto.ok()) << fib_auto.status();
  EXPECT_EQ(fib_auto->params.first_layer, stark::FirstLayer::kVirtual);
  auto committed = Fib(8);
  committed.mutable_options()->set_first_fri_layer(v1::FIRST_FRI_LAYER_COMMITTED);
  auto c = PrepareJob(committed, "", RequestLimits());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->params.first_layer, stark::FirstLayer::kCommitted);
  preset.mutable_options()->set_first_fri_layer(v1::FIRST_FRI_LAYER_COMMITTED);
  auto pc = PrepareJob(preset, "", RequestLimits());
  ASSERT_TRUE(pc.ok()) << pc.status();
  EXPECT_EQ(pc->params.first_layer, stark::FirstLayer::kCommitted);
  auto bad_layer = Fib(8);
  bad_layer.mutable_options()->set_first_fri_layer(static_cast<v1::FirstFriLayer>(7));
  EXPECT_EQ(ErrorOf(bad_layer).rfind("options.first_fri_layer: 7 is not a FirstFriLayer", 0), 0u)
      << ErrorOf(bad_layer);
  // Parameters far out of range are refused by the parameter check, never used to plan
  // a FRI schedule (a fuzzer's find: the first layer's choice once planned one first).
  auto wild = Fib(8);
  wild.mutable_options()->set_log_fri_arity(4000000000u);
  wild.mutable_options()->set_log_blowup(3);
  EXPECT_EQ(ErrorOf(wild).rfind("options: params.log_fri_arity: 4000000000 outside", 0), 0u)
      << ErrorOf(wild);
  auto no_fold = Fib(1);  // its first layer is already of the final size
  no_fold.mutable_options()->set_first_fri_layer(v1::FIRST_FRI_LAYER_VIRTUAL);
  EXPECT_EQ(ErrorOf(no_fold).rfind("options.params.first_layer: virtual", 0), 0u)
      << ErrorOf(no_fold);

  auto [user, trace] = UserFib(6);
  EXPECT_TRUE(PrepareJob(user, trace, RequestLimits()).ok());
  EXPECT_EQ(ErrorOf(user, trace.substr(0, trace.size() - 1)).rfind("user.trace:", 0), 0u);
  auto bad_public = user;
  bad_public.mutable_user()->set_public_inputs(1, 0xFFFFFFFFFFFFFFFFull);
  EXPECT_EQ(ErrorOf(bad_public, trace),
            "user.public_inputs[1]: 18446744073709551615 is not a "
            "canonical field element");
  auto bad_air = user;
  bad_air.mutable_user()
      ->mutable_air()
      ->mutable_tables(0)
      ->mutable_exprs(0)
      ->mutable_column()
      ->set_index(99);
  EXPECT_EQ(ErrorOf(bad_air, trace).rfind("user.air.tables[0]", 0), 0u) << ErrorOf(bad_air, trace);
  auto missing_public = user;
  missing_public.mutable_user()->mutable_public_inputs()->RemoveLast();
  EXPECT_EQ(ErrorOf(missing_public, trace).rfind("user.", 0), 0u);
}

TEST(ContentHash, IgnoresTheRequestIdAndCoversTheTrace) {
  auto [user, trace] = UserFib(5);
  auto a = user, b = user;
  a.set_request_id("x");
  b.set_request_id("y");
  EXPECT_EQ(ContentHash(a, trace), ContentHash(b, trace));
  std::string other = trace;
  other[40] ^= 1;
  EXPECT_NE(ContentHash(a, trace), ContentHash(a, other));
  b.set_priority(3);
  EXPECT_NE(ContentHash(a, trace), ContentHash(b, trace));
  EXPECT_NE(ContentHash(Fib(4), ""), ContentHash(Fib(5), ""));
}

TEST(LoadStatement, UserStatementMatchesTheBuiltin) {
  auto [user, trace] = UserFib(6);
  auto w = LoadStatement(user, trace);
  ASSERT_TRUE(w.ok()) << w.status();
  auto fib = air::Fibonacci(6);
  EXPECT_EQ(air::AirDigest(w->air), air::AirDigest(fib->air));
  EXPECT_EQ(w->public_inputs, fib->public_inputs);
}

TEST(EstimateJobBytes, GrowsWithTheTrace) {
  auto backend = backend::MakeCpuBackend();
  const air::Air fib = air::FibonacciAir();
  // A fixed part (thread stacks, tables, slack) plus a part proportional to the rows.
  const uint64_t tiny = EstimateJobBytes(*backend, fib, {1}, stark::ProofParams());
  const uint64_t small = EstimateJobBytes(*backend, fib, {10}, stark::ProofParams());
  const uint64_t big = EstimateJobBytes(*backend, fib, {20}, stark::ProofParams());
  EXPECT_GT(tiny, 0u);
  EXPECT_GT(small, tiny);
  EXPECT_GT(big - tiny, 500 * (small - tiny));
}

}  // namespace
}  // namespace prover::server
