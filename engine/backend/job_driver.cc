#include "engine/backend/job_driver.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/base/failure.h"
#include "engine/protocol/logup.h"
#include "engine/protocol/params.h"

namespace prover::backend {
namespace {

// The call a job expects next: the rounds of backend.h in order, then nothing. A failed
// call leaves the job kFailed (unusable); a stopped one answers CANCELLED from then on.
enum class Expect {
  kCommitMain,
  kCommitAux,
  kCommitQuotient,
  kEvaluateOod,
  kBuildDeep,
  kCommitFriLayer,  // layer fri_step_
  kFoldFriLayer,    // layer fri_step_, committed
  kFinalLayer,
  kOpenQueries,
  kDone,
  kFailed,
};

std::string Describe(Expect e, int layer) {
  switch (e) {
    case Expect::kCommitMain:
      return "CommitMain";
    case Expect::kCommitAux:
      return "CommitAux";
    case Expect::kCommitQuotient:
      return "CommitQuotient";
    case Expect::kEvaluateOod:
      return "EvaluateOod";
    case Expect::kBuildDeep:
      return "BuildDeep";
    case Expect::kCommitFriLayer:
      return absl::StrCat("CommitFriLayer(", layer, ")");
    case Expect::kFoldFriLayer:
      return absl::StrCat("FoldFriLayer(", layer, ")");
    case Expect::kFinalLayer:
      return "FinalLayer";
    case Expect::kOpenQueries:
      return "OpenQueries";
    case Expect::kDone:
      return "nothing (the job is done)";
    case Expect::kFailed:
      return "nothing (an earlier call failed; the job is unusable)";
  }
  return "?";
}

class JobDriver final : public ProvingJob {
 public:
  JobDriver(std::string backend, const JobSpec& spec) : backend_(std::move(backend)), spec_(spec) {
    tables_.resize(spec_.air->tables.size());
    for (size_t t = 0; t < tables_.size(); ++t) tables_[t].Init(spec_, t);
  }
  ~JobDriver() override { path_.reset(); }  // its buffers count in mem_

  absl::Status Attach(const DataPathFactory& make) {
    auto path = make(&mem_);
    if (!path.ok()) return path.status();
    path_ = *std::move(path);
    return absl::OkStatus();
  }

  absl::StatusOr<Digest> CommitMain(const air::Trace& trace) override {
    if (auto s = Enter(Expect::kCommitMain, -1, "CommitMain"); !s.ok()) return s;
    if (trace.tables.size() != tables_.size()) {
      return Fail(InvalidInput(
          absl::StrCat("trace: ", trace.tables.size(), " tables; the AIR has ", tables_.size())));
    }
    for (size_t t = 0; t < tables_.size(); ++t) {
      const air::TableTrace& tt = trace.tables[t];
      if (tt.log_rows() != tables_[t].log_n || tt.num_columns() != tables_[t].table->num_columns) {
        return Fail(InvalidInput(absl::StrCat("trace: tables[", t, "] is not of the job's shape")));
      }
    }
    return Leave(path_->CommitMain(trace), Expect::kCommitAux);
  }

  absl::StatusOr<AuxCommitment> CommitAux(const Fp3& alpha, const Fp3& beta) override {
    if (auto s = Enter(Expect::kCommitAux, -1, "CommitAux"); !s.ok()) return s;
    challenges_ = {alpha, beta};
    auto aux = Leave(path_->CommitAux(alpha, beta), Expect::kCommitQuotient);
    if (!aux.ok()) return aux;
    if (aux->tables.size() != tables_.size()) {
      return Fail(Internal("CommitAux", "one result per table"));
    }
    sums_.assign(tables_.size(), Fp3::Zero());
    bool any = false;
    for (size_t t = 0; t < tables_.size(); ++t) {
      if (aux->tables[t].has_aux != (tables_[t].aux_columns != 0)) {
        return Fail(Internal("CommitAux", absl::StrCat("tables[", t, "]: aux columns differ")));
      }
      any = any || aux->tables[t].has_aux;
      sums_[t] = aux->tables[t].sum;
    }
    if (aux->root.has_value() != any) {
      return Fail(Internal("CommitAux", "a root exactly when some table has aux columns"));
    }
    return aux;
  }

  absl::StatusOr<Digest> CommitQuotient(const Fp3& gamma) override {
    if (auto s = Enter(Expect::kCommitQuotient, -1, "CommitQuotient"); !s.ok()) return s;
    QuotientRound round;
    round.challenges = challenges_;
    for (size_t t = 0; t < tables_.size(); ++t) {
      const TableLayout& s = tables_[t];
      QuotientConstants c;
      c.num_air = s.table->constraints.size();
      c.gamma_pows.resize(c.num_air + stark::NumLogUpConstraints(s.groups));
      for (size_t j = 0; j < c.gamma_pows.size(); ++j) {
        c.gamma_pows[j] = j == 0 ? Fp3::One() : c.gamma_pows[j - 1] * gamma;
      }
      c.mean = s.aux_columns == 0 ? Fp3() : sums_[t] * Fp::FromU64(s.n()).Inverse();
      round.tables.push_back(std::move(c));
    }
    return Leave(path_->CommitQuotient(round), Expect::kEvaluateOod);
  }

  absl::StatusOr<std::vector<TableOod>> EvaluateOod(const Fp3& z) override {
    if (auto s = Enter(Expect::kEvaluateOod, -1, "EvaluateOod"); !s.ok()) return s;
    for (const TableLayout& s : tables_) {
      if (z.Pow(s.n()) == Fp3::One()) return Fail(Internal("ood", "z lies in the trace domain"));
    }
    // DEEP's inverses 1 / (x - z) need z outside F_p (field/difference_inverse.h).
    if (z.IsBase()) return Fail(Internal("ood", "z lies in the base field"));
    z_ = z;
    auto ood = Leave(path_->EvaluateOod(z), Expect::kBuildDeep);
    if (ood.ok() && ood->size() != tables_.size()) {
      return Fail(Internal("EvaluateOod", "one result per table"));
    }
    return ood;
  }

  absl::Status BuildDeep(const Fp3& delta, const Fp3& lambda, std::span<const TableOod> ood,
                         const stark::FriSchedule& schedule) override {
    if (auto s = Enter(Expect::kBuildDeep, -1, "BuildDeep"); !s.ok()) return s;
    if (ood.size() != tables_.size()) {
      return Fail(CallerBug(absl::StrCat("BuildDeep: ", ood.size(), " tables' values; the job has ",
                                         tables_.size())));
    }
    if (auto s = CheckSchedule(schedule); !s.ok()) return Fail(s);
    schedule_ = schedule;
    DeepRound round;
    round.log_size = schedule.log_size;
    Fp3 lambda_t = Fp3::One();
    for (size_t t = 0; t < tables_.size(); ++t) {
      const TableLayout& s = tables_[t];
      const TableOod& o = ood[t];
      if (o.main.size() != s.table->num_columns || o.main_next.size() != o.main.size() ||
          o.aux.size() != s.aux_columns || o.aux_next.size() != o.aux.size() ||
          o.quotient.size() != s.parts) {
        return Fail(CallerBug(
            absl::StrCat("BuildDeep: tables[", t, "]: out-of-domain values of the wrong shape")));
      }
      DeepTask task;
      task.layer = int(std::find(schedule.log_size.begin(), schedule.log_size.end(), s.log_N) -
                       schedule.log_size.begin());
      task.constants =
          MakeDeepConstants(s.table->num_columns, s.aux_columns, s.parts, lambda_t, delta, o);
      task.inv_z = DifferenceInverse(z_);
      task.inv_zw = DifferenceInverse(z_ * Fp::RootOfUnity(s.log_n));
      round.tables.push_back(std::move(task));
      lambda_t *= lambda;
    }
    return Leave(path_->BuildDeep(round), AfterFri());
  }

  absl::StatusOr<Digest> CommitFriLayer(int layer) override {
    if (auto s = Enter(Expect::kCommitFriLayer, layer, absl::StrCat("CommitFriLayer(", layer, ")"));
        !s.ok()) {
      return s;
    }
    return Leave(path_->CommitLayer(Layer(layer)), Expect::kFoldFriLayer);
  }

  absl::Status FoldFriLayer(int layer, const Fp3& zeta) override {
    if (auto s = Enter(Expect::kFoldFriLayer, layer, absl::StrCat("FoldFriLayer(", layer, ")"));
        !s.ok()) {
      return s;
    }
    FoldStep step;
    step.layer = Layer(layer);
    const int log_a = step.layer.log_arity;
    // s_i = g^(M_0 / M_i): the binary fold at sub-level r works on points s_i^(2^r) * ...
    const Fp s_inv = Fp::FromCanonical(stark::kLdeCosetOffset)
                         .Pow(uint64_t{1} << (schedule_.log_size[0] - step.layer.log_size))
                         .Inverse();
    for (int r = 0; r < log_a; ++r) {
      step.zetas[r] = r == 0 ? zeta : step.zetas[r - 1].Square();
      step.s_invs[r] = r == 0 ? s_inv : step.s_invs[r - 1].Square();
    }
    step.scale = Fp::FromU64(uint64_t{1} << log_a).Inverse();
    ++fri_step_;
    return Leave(path_->Fold(step), AfterFri());
  }

  absl::StatusOr<std::vector<Fp3>> FinalLayer() override {
    if (auto s = Enter(Expect::kFinalLayer, -1, "FinalLayer"); !s.ok()) return s;
    auto values = Leave(path_->FinalLayer(), Expect::kOpenQueries);
    if (values.ok() && values->size() != (size_t{1} << schedule_.log_final_layer())) {
      return Fail(Internal("FinalLayer", "the final layer is not of its size"));
    }
    return values;
  }

  absl::StatusOr<QueryOpenings> OpenQueries(std::span<const uint64_t> positions) override {
    if (auto s = Enter(Expect::kOpenQueries, -1, "OpenQueries"); !s.ok()) return s;
    const int log_m0 = schedule_.log_size[0];
    for (uint64_t u : positions) {
      if (u >> log_m0 != 0) {
        return Fail(
            CallerBug(absl::StrCat("OpenQueries: position ", u, " is outside the first layer")));
      }
    }
    OpeningPlan plan;
    int log_aux = -1;  // the tallest aux matrix's height
    for (const TableLayout& s : tables_) {
      plan.table_rows.push_back(OpenedLeaves(positions, log_m0 - s.log_N, 0));
      if (s.aux_columns != 0) log_aux = std::max(log_aux, s.log_N);
    }
    plan.main_leaves = OpenedLeaves(positions, 0, 0);  // the tallest table is M_0
    if (log_aux >= 0) plan.aux_leaves = OpenedLeaves(positions, log_m0 - log_aux, 0);
    if (schedule_.virtual_first) {
      // Layer 0's groups come from the rows of the tables as tall as M_0: whole groups.
      const std::vector<uint64_t> rows = stark::GroupRows(positions, schedule_.log_arity[0]);
      for (size_t t = 0; t < tables_.size(); ++t) {
        if (tables_[t].log_N == log_m0) plan.table_rows[t] = rows;
      }
      plan.main_leaves = rows;
      if (log_aux == log_m0) plan.aux_leaves = rows;
    }
    for (int i = schedule_.first_committed(); i < schedule_.num_folds(); ++i) {
      plan.layers.push_back(Layer(i));
      plan.layer_groups.push_back(
          OpenedLeaves(positions, log_m0 - schedule_.log_size[i], schedule_.log_arity[i]));
    }
    return Leave(path_->Open(plan), Expect::kDone);
  }

  JobMemory memory() const override { return mem_.Get(); }

 private:
  absl::Status Internal(const std::string& what, const std::string& msg) const {
    return WithFailureKind(
        absl::InternalError(absl::StrCat(backend_, " backend: ", what, ": ", msg)),
        FailureKind::kBug);
  }
  static absl::Status InvalidInput(std::string msg) {
    return WithFailureKind(absl::InvalidArgumentError(std::move(msg)), FailureKind::kInvalidInput);
  }
  // A mistake in the values the caller (the prover) derived: a bug, not the input's fault.
  static absl::Status CallerBug(std::string msg) {
    return WithFailureKind(absl::InvalidArgumentError(std::move(msg)), FailureKind::kBug);
  }

  // Every call starts here: CANCELLED once the job is stopped, FAILED_PRECONDITION for a
  // call the job does not expect now.
  absl::Status Enter(Expect call, int layer, const std::string& name) {
    if (spec_.stop.stop_requested()) {
      return absl::CancelledError(absl::StrCat(backend_, " backend: job stopped"));
    }
    const bool fri = call == Expect::kCommitFriLayer || call == Expect::kFoldFriLayer;
    if (expect_ != call || (fri && layer != fri_step_)) {
      return WithFailureKind(absl::FailedPreconditionError(absl::StrCat(
                                 backend_, " backend: ", name, " called; the job expects ",
                                 Describe(expect_, fri_step_))),
                             FailureKind::kBug);
    }
    return absl::OkStatus();
  }
  // A data-path result: the job moves on to `next`, or is unusable after a failure.
  // A failure the data path did not mark is marked by what its code can only mean.
  template <typename T>
  T Leave(T result, Expect next) {
    if (result.ok()) {
      expect_ = next;
      return result;
    }
    expect_ = Expect::kFailed;
    const absl::Status s = StatusOf(result);
    if (s.code() == absl::StatusCode::kCancelled || FailureKindOf(s)) return result;
    return WithFailureKind(s, ClassifyFailure(s));
  }
  static absl::Status StatusOf(const absl::Status& s) { return s; }
  template <typename T>
  static absl::Status StatusOf(const absl::StatusOr<T>& s) {
    return s.status();
  }
  absl::Status Fail(absl::Status s) {
    expect_ = Expect::kFailed;
    return s;
  }
  // After BuildDeep or a fold: the next layer's commit, or the final layer.
  Expect AfterFri() const {
    if (fri_step_ >= schedule_.num_folds()) return Expect::kFinalLayer;
    return schedule_.committed(fri_step_) ? Expect::kCommitFriLayer : Expect::kFoldFriLayer;
  }

  FriLayer Layer(int i) const {
    return FriLayer{i, schedule_.log_size[size_t(i)], schedule_.log_arity[size_t(i)]};
  }

  // A schedule of this job: layers shrinking by their arity, the first as large as the
  // largest table's LDE, every table's LDE size one of them (docs/PROTOCOL.md section 8).
  absl::Status CheckSchedule(const stark::FriSchedule& f) const {
    if (f.log_size.size() != f.log_arity.size() + 1) {
      return CallerBug("BuildDeep: a FRI schedule needs one size per layer");
    }
    if (f.virtual_first && f.log_arity.empty()) {
      return CallerBug("BuildDeep: a virtual first FRI layer needs a layer that folds");
    }
    int max_log_N = 0;
    for (const TableLayout& s : tables_) max_log_N = std::max(max_log_N, s.log_N);
    if (f.log_size[0] != max_log_N) {
      return CallerBug("BuildDeep: the first FRI layer is not the largest table's LDE");
    }
    for (size_t i = 0; i < f.log_arity.size(); ++i) {
      if (f.log_arity[i] < 1 || f.log_arity[i] > kMaxLogArity ||
          f.log_size[i + 1] != f.log_size[i] - f.log_arity[i]) {
        return CallerBug(absl::StrCat("BuildDeep: FRI layer ", i, " does not fold into the next"));
      }
    }
    for (size_t t = 0; t < tables_.size(); ++t) {
      if (std::find(f.log_size.begin(), f.log_size.end(), tables_[t].log_N) == f.log_size.end()) {
        return CallerBug(
            absl::StrCat("BuildDeep: tables[", t, "]'s LDE size is not a FRI layer size"));
      }
    }
    return absl::OkStatus();
  }

  const std::string backend_;
  const JobSpec spec_;
  std::vector<TableLayout> tables_;
  Expect expect_ = Expect::kCommitMain;
  int fri_step_ = 0;  // the layer committed and folded next
  std::vector<Fp3> challenges_, sums_;
  Fp3 z_;
  stark::FriSchedule schedule_;
  MemoryCounter mem_;  // declared before path_: outlives its buffers
  std::unique_ptr<DataPath> path_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ProvingJob>> StartDrivenJob(std::string backend, const JobSpec& spec,
                                                           const DataPathFactory& make) {
  if (spec.air == nullptr || spec.log_rows.size() != spec.air->tables.size()) {
    return absl::InvalidArgumentError(backend + " backend: the job spec does not match its AIR");
  }
  auto job = std::make_unique<JobDriver>(std::move(backend), spec);
  if (auto s = job->Attach(make); !s.ok()) return s;
  return std::unique_ptr<ProvingJob>(std::move(job));
}

}  // namespace prover::backend
