// The backend contract: the coarse, batched operations the protocol (engine/stark) asks of
// an engine, each over all tables of a job at once.
//
// A Backend starts ProvingJobs. A job owns every large buffer of one proof (LDEs, Merkle
// trees, aux and quotient columns, FRI layers) in backend memory: host memory for the CPU
// backend, device memory for the CUDA backend. The protocol sees only what it absorbs into
// the transcript or writes into the proof: roots, sums, out-of-domain values, the final
// layer and the query openings. So a GPU backend keeps a job resident from the trace
// upload to the last query, and only those small results cross the bus.
//
// Call order (each at most once unless noted; anything else is FAILED_PRECONDITION):
//   CommitMain -> CommitAux -> CommitQuotient -> EvaluateOod -> BuildDeep ->
//   ([CommitFriLayer(i)] -> FoldFriLayer(i))  for i = 0 .. schedule.num_folds() - 1, the
//   commit for the committed layers only (not a virtual layer 0)
//   -> FinalLayer -> OpenQueries
// Every value a job returns is defined by docs/PROTOCOL.md, so every backend returns the
// same bytes for the same inputs, whatever its threads, streams or device.
//
// Thread safety: one job is driven by one thread at a time; different jobs of one backend
// may run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/air/air.h"
#include "engine/air/trace.h"
#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"
#include "engine/hash/keccak.h"
#include "engine/hash/merkle.h"
#include "engine/protocol/params.h"

namespace prover::backend {

// Fixed for a job's lifetime. The AIR is validated; the heights and public inputs were
// checked against it (air::CheckShapes).
struct JobSpec {
  const air::Air* air = nullptr;  // outlives the job
  std::vector<int> log_rows;      // per table
  std::vector<Fp> public_inputs;
  int log_blowup = 0;
  // Asks the job to stop (a cancel, a deadline, a drain): every operation polls it inside
  // its long loops and returns CANCELLED soon after it is requested (well within a second
  // on any supported size); the job is then unusable.
  std::stop_token stop;
};

// Round 2's result: per table whether it has aux columns (bus interactions) and sigma_t,
// the sum of its LogUp terms over the rows; and the root of the one tree over every such
// table's aux columns (absent when no table has interactions).
struct AuxCommitment {
  struct Table {
    bool has_aux = false;
    Fp3 sum;
  };
  std::vector<Table> tables;
  std::optional<Digest> root;
};

// Round 4 values of one table (section 7).
struct TableOod {
  std::vector<Fp3> main, main_next;  // main columns at z and z * w_n
  std::vector<Fp3> aux, aux_next;    // aux columns (extension) at z and z * w_n
  std::vector<Fp3> quotient;         // quotient parts at z
};

// Rows of one committed matrix at sorted, unique leaf indices: values holds the rows one
// after the other (width base elements each), proof the deduplicated multi-opening.
struct TreeOpening {
  std::vector<uint64_t> indices;
  std::vector<Fp> values;
  MerkleProof proof;
};

// One table's rows at its opened rows (sorted, unique), one row after the other, in each
// of its matrices (aux empty without interactions).
struct TableOpenings {
  std::vector<Fp> main, aux, quotient;
};

struct QueryOpenings {
  std::vector<TableOpenings> tables;
  // The multi-openings of the three trace rounds' trees (aux empty when no table has
  // interactions).
  MerkleProof main, aux, quotient;
  std::vector<TreeOpening> fri_layers;  // one per committed layer (width 3 * arity)
};

// Memory a job holds in backend buffers, in bytes.
struct JobMemory {
  uint64_t current = 0;
  uint64_t peak = 0;
};

class ProvingJob {
 public:
  virtual ~ProvingJob() = default;

  // Round 1. LDE of every table's main columns and the one Merkle tree over them all (a tree
  // of mixed heights, hash/merkle.h, tables in order); its root. `trace` must stay alive and
  // unchanged until the job is destroyed.
  virtual absl::StatusOr<Digest> CommitMain(const air::Trace& trace) = 0;

  // Round 2. LogUp helper and running-sum columns and their LDE, per table, and one tree
  // over the tables with interactions. FAILED_PRECONDITION when a fingerprint vanishes on
  // some row.
  virtual absl::StatusOr<AuxCommitment> CommitAux(const Fp3& alpha, const Fp3& beta) = 0;

  // Round 3. Quotient of every table, split into its P_t parts (stark/shape.h), LDE of the
  // parts and one tree over every table's. INTERNAL when a quotient is not of the expected
  // degree (the trace breaks a constraint the checker did not see: a backend bug, never a
  // property of the input).
  virtual absl::StatusOr<Digest> CommitQuotient(const Fp3& gamma) = 0;

  // Round 4.
  virtual absl::StatusOr<std::vector<TableOod>> EvaluateOod(const Fp3& z) = 0;

  // Round 5: the DEEP codewords of every table combined into the FRI layers they enter.
  virtual absl::Status BuildDeep(const Fp3& delta, const Fp3& lambda, std::span<const TableOod> ood,
                                 const stark::FriSchedule& schedule) = 0;
  // Commits layer i (leaves: groups of 2^log_arity[i] consecutive values).
  virtual absl::StatusOr<Digest> CommitFriLayer(int layer) = 0;
  // Folds layer i with zeta into layer i + 1 and adds the tables entering there.
  virtual absl::Status FoldFriLayer(int layer, const Fp3& zeta) = 0;
  // The values of the final layer, in order.
  virtual absl::StatusOr<std::vector<Fp3>> FinalLayer() = 0;

  // Round 6. Positions are in [0, M_0), repeats allowed; every table opens the rows they map
  // to and each FRI layer the groups (section 9), deduplicated and sorted.
  virtual absl::StatusOr<QueryOpenings> OpenQueries(std::span<const uint64_t> positions) = 0;

  virtual JobMemory memory() const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  virtual absl::StatusOr<std::unique_ptr<ProvingJob>> StartJob(const JobSpec& spec) = 0;
  // The peak bytes of backend memory a job of this shape will hold (for admission).
  virtual uint64_t EstimatePeakBytes(const JobSpec& spec) const = 0;
};

}  // namespace prover::backend
