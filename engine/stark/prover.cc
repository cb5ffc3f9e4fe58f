#include "engine/stark/prover.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "engine/air/checker.h"
#include "engine/base/failure.h"
#include "engine/poly/ntt.h"
#include "engine/protocol/logup.h"
#include "engine/protocol/protocol.h"
#include "engine/protocol/security.h"
#include "engine/protocol/shape.h"

namespace prover::stark {
namespace {

// A FRI layer's opening as the proof sends it (docs/PROTOCOL.md section 9): the opened
// groups without the values at the positions the queries reach, which the verifier knows
// from the layer before.
Opening FriOpening(backend::TreeOpening&& o, std::span<const uint64_t> positions, int shift,
                   int log_arity) {
  std::vector<uint64_t> known;
  for (uint64_t u : positions) known.push_back(u >> shift);
  std::sort(known.begin(), known.end());
  known.erase(std::unique(known.begin(), known.end()), known.end());
  const uint64_t a = uint64_t{1} << log_arity;
  Opening out;
  out.siblings = std::move(o.proof.siblings);
  size_t next = 0;
  for (size_t k = 0; k < o.indices.size(); ++k) {
    for (uint64_t j = 0; j < a; ++j) {
      const uint64_t pos = o.indices[k] * a + j;
      if (next < known.size() && known[next] == pos) {
        ++next;
        continue;
      }
      const Fp* v = o.values.data() + 3 * (k * a + j);
      out.values.insert(out.values.end(), v, v + 3);
    }
  }
  return out;
}

class StageClock {
 public:
  StageClock(const ProveOptions& options, std::vector<StageTiming>& timings)
      : options_(options), timings_(timings) {}
  absl::Status Start(Stage stage) {
    Stop();
    if (options_.stop.stop_requested() || (options_.on_stage && !options_.on_stage(stage))) {
      return absl::CancelledError(
          absl::StrCat("proof cancelled before stage ", std::string(StageName(stage))));
    }
    current_ = stage;
    running_ = true;
    start_ = std::chrono::steady_clock::now();
    return absl::OkStatus();
  }
  void Stop() {
    if (!running_) return;
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    timings_.push_back(StageTiming{current_, s});
    running_ = false;
  }

 private:
  const ProveOptions& options_;
  std::vector<StageTiming>& timings_;
  Stage current_ = Stage::kCheck;
  bool running_ = false;
  std::chrono::steady_clock::time_point start_;
};

// The final layer's values are those of a polynomial P on y_p = s w_F^bitrev(p); its
// coefficients, lowest first. The inverse NTT gives those of P(s y).
absl::StatusOr<std::vector<Fp3>> InterpolateFinal(const std::vector<Fp3>& values, Fp s,
                                                  size_t keep) {
  const size_t F = values.size();
  int log_f = 0;
  while ((size_t{1} << log_f) < F) ++log_f;
  std::vector<Fp> cols(3 * F);
  for (size_t p = 0; p < F; ++p) {
    for (int c = 0; c < 3; ++c) cols[c * F + p] = values[p].coeff(c);
  }
  std::vector<Fp*> ptrs = {cols.data(), cols.data() + F, cols.data() + 2 * F};
  if (auto st = InverseNtt(ptrs, log_f, Order::kBitReversed, Order::kNatural); !st.ok()) return st;
  const Fp s_inv = s.Inverse();
  std::vector<Fp3> coeffs(F);
  Fp scale = Fp::One();
  for (size_t j = 0; j < F; ++j) {
    coeffs[j] = Fp3(cols[j], cols[F + j], cols[2 * F + j]) * scale;
    scale *= s_inv;
  }
  for (size_t j = keep; j < F; ++j) {
    if (!coeffs[j].IsZero()) {
      return absl::InternalError("fri: the final layer is not of the expected degree");
    }
  }
  coeffs.resize(keep);
  return coeffs;
}

}  // namespace

std::string_view StageName(Stage stage) {
  switch (stage) {
    case Stage::kCheck:
      return "check";
    case Stage::kMainCommit:
      return "main_commit";
    case Stage::kAuxCommit:
      return "aux_commit";
    case Stage::kQuotient:
      return "quotient";
    case Stage::kOod:
      return "ood";
    case Stage::kDeep:
      return "deep";
    case Stage::kFri:
      return "fri";
    case Stage::kGrinding:
      return "grinding";
    case Stage::kQueries:
      return "queries";
    case Stage::kCount:
      break;
  }
  return "unknown";
}

absl::StatusOr<ProveResult> Prove(backend::Backend& backend, const air::Air& air,
                                  const air::Trace& trace, std::span<const Fp> public_inputs,
                                  const ProveOptions& options) {
  if (auto s = air::Validate(air); !s.ok()) return s;
  if (auto s = air::CheckShapes(air, trace, public_inputs); !s.ok()) return s;
  std::vector<int> log_rows;
  for (const air::TableTrace& t : trace.tables) log_rows.push_back(t.log_rows());
  for (size_t t = 0; t < log_rows.size(); ++t) {
    if (log_rows[t] < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("trace.tables[", t, "]: a table needs at least 2 rows"));
    }
  }
  const absl::StatusOr<ProofParams> resolved = ResolveParams(options.params, air, log_rows);
  if (!resolved.ok()) return resolved.status();
  const ProofParams& params = *resolved;
  const uint32_t D = air.max_constraint_degree;
  if (auto s = CheckSecurity(params, air, log_rows,
                             {options.min_security_bits, options.min_proven_security_bits});
      !s.ok()) {
    return s;
  }

  ProveResult result;
  StageClock clock(options, result.timings);
  auto run_checker = [&]() -> absl::Status {
    auto report = air::CheckTrace(air, trace, public_inputs, /*max_failures=*/100, options.stop);
    if (!report.ok()) return report.status();
    return WithFailureKind(air::ReportToStatus(air, *report), FailureKind::kConstraintsUnsatisfied);
  };
  if (options.trace_check == TraceCheck::kUpFront) {
    if (auto s = clock.Start(Stage::kCheck); !s.ok()) return s;
    if (auto s = run_checker(); !s.ok()) return s;
  }
  // A failure that says the trace breaks a constraint or a bus: with kOnFailure, the
  // checker's report when it finds one (the usual case); when it finds none, the failure
  // is the prover's own (a bug, or an event of probability about 2^-128). Any other
  // failure (a device fault, memory, a bug, a vanishing fingerprint) is returned as it is,
  // without running the checker.
  auto diagnose = [&](absl::Status failure) -> absl::Status {
    if (failure.code() == absl::StatusCode::kCancelled || options.stop.stop_requested()) {
      return absl::CancelledError("proof stopped");
    }
    if (options.trace_check != TraceCheck::kOnFailure ||
        ClassifyFailure(failure) != FailureKind::kConstraintsUnsatisfied) {
      return failure;
    }
    if (auto s = run_checker(); !s.ok()) return s;
    return WithFailureKind(
        absl::Status(failure.code(), absl::StrCat(failure.message(),
                                                  " (the row-by-row checker finds the "
                                                  "constraints and buses satisfied)")),
        FailureKind::kBug);
  };

  Proof& proof = result.proof;
  proof.params = params;
  proof.security_bits = SecurityBits(params, log_rows, D);
  proof.proven_security_bits = ProvenSecurityOf(params, air, log_rows).bits;
  proof.tables.resize(log_rows.size());
  for (size_t t = 0; t < log_rows.size(); ++t) proof.tables[t].log_rows = log_rows[t];

  backend::JobSpec spec;
  spec.air = &air;
  spec.log_rows = log_rows;
  spec.public_inputs.assign(public_inputs.begin(), public_inputs.end());
  spec.log_blowup = static_cast<int>(params.log_blowup);
  spec.stop = options.stop;
  auto job_or = backend.StartJob(spec);
  if (!job_or.ok()) return job_or.status();
  backend::ProvingJob& job = **job_or;

  Transcript tr = StartTranscript(params, air, log_rows, public_inputs);

  // Round 1.
  if (auto s = clock.Start(Stage::kMainCommit); !s.ok()) return s;
  auto main_root = job.CommitMain(trace);
  if (!main_root.ok()) return main_root.status();
  proof.main.root = *main_root;
  tr.AbsorbDigest(label::kMainRoot, *main_root);

  // Round 2.
  if (auto s = clock.Start(Stage::kAuxCommit); !s.ok()) return s;
  const Fp3 alpha = tr.ChallengeFp3(label::kLogupAlpha);
  const Fp3 beta = tr.ChallengeFp3(label::kLogupBeta);
  auto aux = job.CommitAux(alpha, beta);
  if (!aux.ok()) return diagnose(aux.status());
  Fp3 total = Fp3::Zero();
  for (size_t t = 0; t < log_rows.size(); ++t) {
    const backend::AuxCommitment::Table& a = aux->tables[t];
    if (!a.has_aux) continue;
    TableProof& tp = proof.tables[t];
    tp.has_aux = true;
    tp.logup_sum = a.sum;
    tr.AbsorbFp3(label::kLogupSum, std::span<const Fp3>(&a.sum, 1));
    total += a.sum;
  }
  if (aux->root) {
    proof.has_aux = true;
    proof.aux.root = *aux->root;
    tr.AbsorbDigest(label::kAuxRoot, *aux->root);
  }
  if (!total.IsZero()) {
    // An unbalanced bus, or (with probability about 2^-128) a fingerprint collision.
    return diagnose(
        WithFailureKind(absl::FailedPreconditionError("logup: the tables' sums do not cancel"),
                        FailureKind::kConstraintsUnsatisfied));
  }

  // Round 3.
  if (auto s = clock.Start(Stage::kQuotient); !s.ok()) return s;
  const Fp3 gamma = tr.ChallengeFp3(label::kComposition);
  auto quotient_root = job.CommitQuotient(gamma);
  if (!quotient_root.ok()) return diagnose(quotient_root.status());
  proof.quotient.root = *quotient_root;
  tr.AbsorbDigest(label::kQuotientRoot, *quotient_root);

  // Round 4.
  if (auto s = clock.Start(Stage::kOod); !s.ok()) return s;
  const Fp3 z = tr.ChallengeFp3(label::kOod);
  auto ood = job.EvaluateOod(z);
  if (!ood.ok()) return ood.status();
  for (size_t t = 0; t < log_rows.size(); ++t) {
    backend::TableOod& o = (*ood)[t];
    tr.AbsorbFp3(label::kOodValues,
                 OodTranscriptValues(o.main, o.aux, o.quotient, o.main_next, o.aux_next));
    proof.tables[t].ood = OodValues{o.main, o.main_next, o.aux, o.aux_next, o.quotient};
  }
  // The verifier's identity on our own values: it fails when a constraint does.
  for (size_t t = 0; t < log_rows.size(); ++t) {
    const air::Table& table = air.tables[t];
    const std::vector<LogUpGroup> groups = GroupInteractions(table, D);
    if (auto s = CheckOodIdentity(table, groups, log_rows[t], proof.tables[t].ood,
                                  proof.tables[t].logup_sum, public_inputs, alpha, beta, gamma, z);
        !s.ok()) {
      return diagnose(WithFailureKind(
          absl::FailedPreconditionError(absl::StrCat("quotient: tables[", t, "]: ", s.message())),
          FailureKind::kConstraintsUnsatisfied));
    }
  }

  // Round 5.
  if (auto s = clock.Start(Stage::kDeep); !s.ok()) return s;
  const Fp3 delta = tr.ChallengeFp3(label::kDeep);
  const Fp3 lambda = tr.ChallengeFp3(label::kFriBatch);
  std::vector<int> log_lde;
  for (int l : log_rows) log_lde.push_back(l + int(params.log_blowup));
  const FriSchedule schedule = MakeFriSchedule(params, log_lde);
  if (auto s = job.BuildDeep(delta, lambda, *ood, schedule); !s.ok()) return s;
  if (auto s = clock.Start(Stage::kFri); !s.ok()) return s;
  for (int i = 0; i < schedule.num_folds(); ++i) {
    if (schedule.committed(i)) {
      auto root = job.CommitFriLayer(i);
      if (!root.ok()) return root.status();
      tr.AbsorbDigest(label::kFriRoot, *root);
      proof.fri_layers.push_back(FriLayerProof{*root, {}});
    }
    const Fp3 zeta = tr.ChallengeFp3(label::kFriFold);
    if (auto s = job.FoldFriLayer(i, zeta); !s.ok()) return s;
  }
  auto final_values = job.FinalLayer();
  if (!final_values.ok()) return final_values.status();
  const int log_m0 = schedule.log_size.front();
  const int log_final = schedule.log_final_layer();
  const Fp s_final = Fp::FromCanonical(kLdeCosetOffset).Pow(uint64_t{1} << (log_m0 - log_final));
  auto final_poly =
      InterpolateFinal(*final_values, s_final, size_t{1} << (log_final - int(params.log_blowup)));
  if (!final_poly.ok()) return final_poly.status();
  proof.final_poly = *std::move(final_poly);
  tr.AbsorbFp3(label::kFinalPoly, proof.final_poly);

  // Round 6.
  if (auto s = clock.Start(Stage::kGrinding); !s.ok()) return s;
  {
    const std::optional<uint64_t> nonce =
        tr.Grind(static_cast<int>(params.grinding_bits), options.stop);
    if (!nonce) return absl::CancelledError("proof stopped while grinding");
    proof.pow_nonce = *nonce;
  }
  tr.AbsorbU64(label::kPowNonce, proof.pow_nonce);
  if (auto s = clock.Start(Stage::kQueries); !s.ok()) return s;
  const std::vector<uint64_t> positions =
      tr.ChallengeIndices(label::kQueries, params.num_queries, log_m0);
  auto openings = job.OpenQueries(positions);
  if (!openings.ok()) return openings.status();
  for (size_t t = 0; t < log_rows.size(); ++t) {
    backend::TableOpenings& o = openings->tables[t];
    proof.tables[t].main_values = std::move(o.main);
    proof.tables[t].aux_values = std::move(o.aux);
    proof.tables[t].quotient_values = std::move(o.quotient);
  }
  proof.main.siblings = std::move(openings->main.siblings);
  proof.aux.siblings = std::move(openings->aux.siblings);
  proof.quotient.siblings = std::move(openings->quotient.siblings);
  for (int i = schedule.first_committed(); i < schedule.num_folds(); ++i) {
    const size_t k = size_t(i - schedule.first_committed());
    proof.fri_layers[k].opening = FriOpening(std::move(openings->fri_layers[k]), positions,
                                             log_m0 - schedule.log_size[i], schedule.log_arity[i]);
  }
  clock.Stop();
  result.backend_memory = job.memory();
  return result;
}

}  // namespace prover::stark
