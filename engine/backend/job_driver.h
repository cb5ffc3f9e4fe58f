// The job driver: the one ProvingJob of every backend. It owns what the protocol says about
// a job (docs/PROTOCOL.md): the order of the rounds as typed states, the FRI schedule's
// bookkeeping (which layer each table enters, which layer is committed and folded next),
// the constants of each round (the gamma powers and sigma_t / n of round 3, the DEEP
// coefficients and inverses of round 5, the fold's zeta and s powers, the rows and groups
// every query opens) and the start-of-job and per-call checks. A backend implements only
// its DataPath: the data work of each round over all tables, called once per round in the
// protocol's order with every constant already derived, so a backend never checks order
// and never recomputes a protocol fact.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/backend/backend.h"
#include "engine/backend/job_common.h"
#include "engine/field/difference_inverse.h"

namespace prover::backend {

// The most binary folds one FRI layer makes (arity 16).
inline constexpr int kMaxLogArity = 4;

// Round 3's constants of one table: gamma^j for its AIR constraints (j < num_air) and then
// its LogUp constraints; mean = sigma_t / n (zero for a table without interactions).
struct QuotientConstants {
  std::vector<Fp3> gamma_pows;
  size_t num_air = 0;
  Fp3 mean;
};

struct QuotientRound {
  std::vector<Fp3> challenges;  // alpha, beta (the AIR's challenge values)
  std::vector<QuotientConstants> tables;
};

// Round 5's constants of one table: the FRI layer its DEEP codeword enters (layer 0, or
// injected at a later layer of the same size), its coefficients and the inverses of x - z
// and x - z w_n.
struct DeepTask {
  int layer = 0;
  DeepConstants constants;
  DifferenceInverse inv_z{Fp3::One()}, inv_zw{Fp3::One()};
};

struct DeepRound {
  std::vector<DeepTask> tables;
  std::vector<int> log_size;  // every FRI layer's, the final one last
};

// One committed FRI layer: 2^log_size values in leaves of 2^log_arity.
struct FriLayer {
  int index = 0;
  int log_size = 0;
  int log_arity = 0;
};

// Folds layer `index` into layer index + 1 (and adds what enters there):
// zetas[r] = zeta^(2^r), s_invs[r] = s_i^-(2^r) with s_i = g^(M_0 / M_i), scale = 1 / arity.
struct FoldStep {
  FriLayer layer;
  Fp3 zetas[kMaxLogArity];
  Fp s_invs[kMaxLogArity];
  Fp scale;
};

// What the queries open: per table the sorted, unique rows of its LDE matrices (whole groups
// of layer 0 in the tables as tall as M_0 when layer 0 is virtual); the bottom
// nodes opened in the trace rounds' trees (main and quotient: over every table; aux: over
// the tables with interactions, empty without any); per committed FRI layer the sorted,
// unique leaves (groups).
struct OpeningPlan {
  std::vector<std::vector<uint64_t>> table_rows;
  std::vector<uint64_t> main_leaves, aux_leaves;
  std::vector<FriLayer> layers;  // the committed layers, each with its index
  std::vector<std::vector<uint64_t>> layer_groups;
};

// A data path's FRI buffers, indexed as the driver's rounds number them: layer i (layer 0
// holds the DEEP codewords of the tables that enter first), the codewords of the tables
// that enter at layer i > 0 (added by the fold into it, then released), and the tree of
// each committed layer. Layer is the data path's buffer type, Tree its tree's.
template <typename Layer, typename Tree>
struct FriBuffers {
  std::vector<Layer> layers, inject;
  std::vector<Tree> trees;

  // Empty buffers for a round of log_size.size() layers (the final one included).
  void Reset(const DeepRound& round) {
    const size_t n = round.log_size.size();
    layers.clear(), inject.clear(), trees.clear();
    layers.resize(n), inject.resize(n), trees.resize(n - 1);
  }
  // Where table DEEP codewords of `task` go.
  Layer& deep_target(const DeepTask& task) {
    return task.layer == 0 ? layers[0] : inject[size_t(task.layer)];
  }
  // Fold i reads layers[i] and writes layers[i + 1], adding inject[i + 1] (if any).
  const Layer& fold_input(const FoldStep& step) const { return layers[size_t(step.layer.index)]; }
  Layer& fold_output(const FoldStep& step) { return layers[size_t(step.layer.index) + 1]; }
  Layer& entering(const FoldStep& step) { return inject[size_t(step.layer.index) + 1]; }
};

// A backend's share of a job: the buffers and the work on them. Each call comes once, in
// the order of the members below (CommitLayer and Fold once per committed layer, in turn),
// and only after the earlier ones succeeded. Calls poll the job's stop token in their long
// loops and answer CANCELLED soon after it is requested.
class DataPath {
 public:
  virtual ~DataPath() = default;
  // The trace has one table per AIR table, of the spec's heights.
  virtual absl::StatusOr<Digest> CommitMain(const air::Trace& trace) = 0;
  // FAILED_PRECONDITION when a fingerprint vanishes on some row.
  virtual absl::StatusOr<AuxCommitment> CommitAux(const Fp3& alpha, const Fp3& beta) = 0;
  // INTERNAL when a quotient is not of the expected degree.
  virtual absl::StatusOr<Digest> CommitQuotient(const QuotientRound& round) = 0;
  // z is outside the trace domains and outside F_p.
  virtual absl::StatusOr<std::vector<TableOod>> EvaluateOod(const Fp3& z) = 0;
  virtual absl::Status BuildDeep(const DeepRound& round) = 0;
  virtual absl::StatusOr<Digest> CommitLayer(const FriLayer& layer) = 0;
  virtual absl::Status Fold(const FoldStep& step) = 0;
  virtual absl::StatusOr<std::vector<Fp3>> FinalLayer() = 0;
  virtual absl::StatusOr<QueryOpenings> Open(const OpeningPlan& plan) = 0;
};

// Makes a job's data path; its buffers count in `memory`, which outlives it.
using DataPathFactory =
    std::function<absl::StatusOr<std::unique_ptr<DataPath>>(MemoryCounter* memory)>;

// A job of `backend` (its name, for messages): the spec is checked against its AIR, then
// the driver runs the data path `make` returns.
absl::StatusOr<std::unique_ptr<ProvingJob>> StartDrivenJob(std::string backend, const JobSpec& spec,
                                                           const DataPathFactory& make);

}  // namespace prover::backend
