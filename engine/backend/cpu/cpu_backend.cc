#include "engine/backend/cpu/cpu_backend.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/backend/cpu/dag_eval.h"
#include "engine/backend/cpu/row_kernels.h"
#include "engine/backend/job_common.h"
#include "engine/backend/job_driver.h"
#include "engine/base/aligned_buffer.h"
#include "engine/base/cpu_features.h"
#include "engine/base/failure.h"
#include "engine/base/scratch_pool.h"
#include "engine/field/batch_inverse.h"
#include "engine/field/difference_inverse.h"
#include "engine/field/wide_sum.h"
#include "engine/poly/lde.h"
#include "engine/poly/ntt.h"
#include "engine/protocol/formulas.h"
#include "engine/protocol/logup.h"
#include "engine/protocol/shape.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"
#include "tbb/task_arena.h"

namespace prover::backend {
namespace {

using stark::LogUpGroup;

// Runs body(begin, end) over [0, count) in chunks of `chunk` (the last may be shorter).
template <typename Body>
void ForChunks(size_t count, size_t chunk, Body body) {
  const size_t chunks = (count + chunk - 1) / chunk;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, chunks, 1),
                    [&](const tbb::blocked_range<size_t>& r) {
                      for (size_t c = r.begin(); c < r.end(); ++c)
                        body(c * chunk, std::min(count, (c + 1) * chunk));
                    });
}

// Column pointers into a column-major buffer of `columns` columns of `len` values.
template <typename T>
std::vector<T*> Columns(T* base, size_t columns, size_t len) {
  std::vector<T*> out(columns);
  for (size_t c = 0; c < columns; ++c) out[c] = base + c * len;
  return out;
}

// Tables at least this wide (base columns: main, aux and quotient) get their DEEP codeword
// from n points and an extension (CpuJob::Deep); narrower ones at all N points. Measured
// on fibonacci 2^20 (width 5: both ways cost the same, the extension 190 MB more) and
// zkvm 16 (widths 14 to 96: DEEP 0.31 s -> 0.08 s).
constexpr size_t kDeepExtendMinWidth = 8;

// x_p = g * w_N^bitrev_N(p) for p in [p0, p0 + count), p0 a multiple of count (a power of
// two): x_{p0 + j} = x_{p0} * w_count^bitrev_count(j).
void CosetPoints(int log_N, uint64_t p0, size_t count, std::span<const Fp> chunk_roots, Fp* x) {
  const Fp x0 =
      Fp::FromCanonical(stark::kLdeCosetOffset) * Fp::RootOfUnity(log_N).Pow(BitRev(p0, log_N));
  for (size_t j = 0; j < count; ++j) x[j] = x0 * chunk_roots[j];
}

// w_count^bitrev(j) for j < count.
std::vector<Fp> ChunkRoots(size_t count) {
  const int bits = CeilLog2(count);
  std::vector<Fp> r(count);
  const Fp w = Fp::RootOfUnity(bits);
  for (size_t j = 0; j < count; ++j) r[j] = w.Pow(BitRev(j, bits));
  return r;
}

// A buffer whose bytes count toward the job's memory. Its memory comes from the
// process-wide ScratchPool: a service proving job after job reuses the same pages instead
// of faulting and clearing fresh ones for every proof. Contents start unspecified.
template <typename T>
class Tracked {
 public:
  Tracked() = default;
  Tracked(MemoryCounter* m, size_t count) : mem_(m), count_(count) {
    lease_.emplace(ScratchPool::Global().Acquire((count * sizeof(T) + 7) / 8));
    mem_->Add(bytes());
  }
  Tracked(Tracked&& o) noexcept { *this = std::move(o); }
  Tracked& operator=(Tracked&& o) noexcept {
    Release();
    mem_ = std::exchange(o.mem_, nullptr);
    count_ = std::exchange(o.count_, 0);
    if (o.lease_.has_value()) lease_.emplace(std::move(*o.lease_));
    o.lease_.reset();
    return *this;
  }
  ~Tracked() { Release(); }
  void Release() {
    if (mem_ != nullptr) mem_->Sub(bytes());
    mem_ = nullptr;
    count_ = 0;
    lease_.reset();
  }
  T* data() { return lease_ ? reinterpret_cast<T*>(lease_->words()) : nullptr; }
  const T* data() const {
    return lease_ ? reinterpret_cast<const T*>(const_cast<ScratchPool::Lease&>(*lease_).words())
                  : nullptr;
  }
  size_t size() const { return count_; }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }

 private:
  uint64_t bytes() const { return count_ * sizeof(T); }
  MemoryCounter* mem_ = nullptr;
  size_t count_ = 0;
  std::optional<ScratchPool::Lease> lease_;
};

struct TableState : TableLayout {
  const air::TableTrace* trace = nullptr;
  Tracked<Fp> main_lde;   // num_columns x N
  Tracked<Fp> aux_trace;  // 3 * aux_columns x n
  Tracked<Fp> aux_lde;    // 3 * aux_columns x N
  Fp3 sum;
  Tracked<Fp> quotient_coeffs;  // 3 * parts x n: coefficients of Q_i(x)
  Tracked<Fp> quotient_lde;     // 3 * parts x N
};

absl::Status Internal(const std::string& stage, const std::string& msg) {
  return absl::InternalError(absl::StrCat("cpu backend: ", stage, ": ", msg));
}

// The CPU engine's data path (job_driver.h): host buffers, TBB loops, the row kernels.
class CpuJob final : public DataPath {
 public:
  CpuJob(const JobSpec& spec, MemoryCounter* mem) : spec_(spec), mem_(*mem) {
    const air::Air& air = *spec_.air;
    tables_.resize(air.tables.size());
    for (size_t t = 0; t < tables_.size(); ++t) tables_[t].Init(spec_, t);
  }

  absl::StatusOr<Digest> CommitMain(const air::Trace& trace) override {
    std::vector<absl::Status> status(tables_.size());
    tbb::parallel_for(size_t{0}, tables_.size(), [&](size_t t) {
      TableState& s = tables_[t];
      s.trace = &trace.tables[t];
      const uint32_t cols = s.table->num_columns;
      s.main_lde = Tracked<Fp>(&mem_, size_t{cols} << s.log_N);
      const std::vector<const Fp*> in = s.trace->column_pointers();
      const std::vector<Fp*> out = Columns(s.main_lde.data(), cols, s.N());
      status[t] = CosetLde(in, s.log_n, spec_.log_blowup, Fp::FromCanonical(stark::kLdeCosetOffset),
                           out, spec_.stop);
    });
    if (auto s = Stopped(); !s.ok()) return s;
    for (const absl::Status& s : status) {
      if (!s.ok()) return s;
    }
    auto root = CommitRound(main_tree_, [](const TableState& s) {
      return std::make_pair(s.main_lde.data(), size_t{s.table->num_columns});
    });
    if (!root.ok()) return root.status();
    return **root;  // every table has main columns
  }

  absl::StatusOr<AuxCommitment> CommitAux(const Fp3& alpha, const Fp3& beta) override {
    challenges_ = {alpha, beta};
    std::vector<absl::Status> status(tables_.size());
    tbb::parallel_for(size_t{0}, tables_.size(), [&](size_t t) {
      if (tables_[t].aux_columns != 0) status[t] = BuildAux(t, alpha, beta);
    });
    if (auto s = Stopped(); !s.ok()) return s;
    AuxCommitment out;
    out.tables.resize(tables_.size());
    for (size_t t = 0; t < tables_.size(); ++t) {
      if (!status[t].ok()) return status[t];
      if (tables_[t].aux_columns != 0) out.tables[t] = {true, tables_[t].sum};
    }
    auto root = CommitRound(aux_tree_, [](const TableState& s) {
      return std::make_pair(s.aux_lde.data(), size_t{3} * s.aux_columns);
    });
    if (!root.ok()) return root.status();
    out.root = *root;
    return out;
  }

  absl::StatusOr<Digest> CommitQuotient(const QuotientRound& round) override {
    challenges_ = round.challenges;
    std::vector<absl::Status> status(tables_.size());
    tbb::parallel_for(size_t{0}, tables_.size(),
                      [&](size_t t) { status[t] = BuildQuotient(t, round.tables[t]); });
    if (auto s = Stopped(); !s.ok()) return s;
    for (const absl::Status& s : status) {
      if (!s.ok()) return s;
    }
    auto root = CommitRound(quotient_tree_, [](const TableState& s) {
      return std::make_pair(s.quotient_lde.data(), size_t{3} * s.parts);
    });
    if (!root.ok()) return root.status();
    return **root;  // every table has at least one part
  }

  absl::StatusOr<std::vector<TableOod>> EvaluateOod(const Fp3& z) override {
    std::vector<TableOod> out(tables_.size());
    std::vector<absl::Status> status(tables_.size());
    tbb::parallel_for(size_t{0}, tables_.size(), [&](size_t t) { status[t] = Ood(t, z, out[t]); });
    if (auto s = Stopped(); !s.ok()) return s;
    for (const auto& s : status) {
      if (!s.ok()) return s;
    }
    return out;
  }

  absl::Status BuildDeep(const DeepRound& round) override {
    fri_.Reset(round);
    const int log_m0 = round.log_size[0];
    fri_.layers[0] = Tracked<Fp3>(&mem_, size_t{1} << log_m0);
    std::fill(fri_.layers[0].data(), fri_.layers[0].data() + fri_.layers[0].size(), Fp3::Zero());
    for (size_t t = 0; t < tables_.size(); ++t) {
      const DeepTask& task = round.tables[t];
      Tracked<Fp3>& target = fri_.deep_target(task);
      if (target.size() == 0) {
        target = Tracked<Fp3>(&mem_, tables_[t].N());
        std::fill(target.data(), target.data() + target.size(), Fp3::Zero());
      }
      if (auto st = Deep(t, task, target.data()); !st.ok()) return st;
    }
    // Inverse points for folding: fold_twiddles_[c] = w_{M0}^-bitrev_{M0/2}(c), c < M0/2.
    // Layer size M' uses the prefix c < M'/2 (bitrev_{M/2}(c) = 2 bitrev_{M/4}(c) for
    // c < M/4), so one table serves every layer.
    const size_t half = size_t{1} << (log_m0 - 1);
    fold_twiddles_ = Tracked<Fp>(&mem_, std::max<size_t>(half, 1));
    fold_twiddles_[0] = Fp::One();
    const Fp w_inv = Fp::RootOfUnity(log_m0).Inverse();
    for (int j = 0; (size_t{1} << j) < half; ++j) {
      const size_t step = size_t{1} << j;
      const Fp r = w_inv.Pow(half >> (j + 1));
      ForChunks(step, 4096, [&](size_t b, size_t e) {
        for (size_t c = b; c < e; ++c) fold_twiddles_[c + step] = fold_twiddles_[c] * r;
      });
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Digest> CommitLayer(const FriLayer& layer) override {
    const size_t arity = size_t{1} << layer.log_arity;
    const Tracked<Fp3>& v = fri_.layers[size_t(layer.index)];
    auto tree = MerkleTree::BuildFromRows(reinterpret_cast<const Fp*>(v.data()), 3 * arity,
                                          v.size() / arity, spec_.stop);
    if (!tree.ok()) return tree.status();
    fri_.trees[size_t(layer.index)].emplace(*std::move(tree));
    return fri_.trees[size_t(layer.index)]->root();
  }

  absl::Status Fold(const FoldStep& step) override {
    const int log_a = step.layer.log_arity;
    const size_t arity = size_t{1} << log_a;
    const Tracked<Fp3>& in = fri_.fold_input(step);
    const size_t groups = in.size() / arity;
    Tracked<Fp3>& out = fri_.fold_output(step);
    out = Tracked<Fp3>(&mem_, groups);
    Tracked<Fp3>& inject = fri_.entering(step);
    cpu::FoldPlan plan;
    plan.log_arity = log_a;
    for (int r = 0; r < log_a; ++r) plan.zeta[r] = step.zetas[r], plan.s_inv[r] = step.s_invs[r];
    plan.twiddles = fold_twiddles_.data();
    plan.scale = step.scale;
    plan.inject = inject.size() != 0 ? inject.data() : nullptr;
    const cpu::RowKernels& kernels = cpu::RowKernelsFor(ActiveSimdLevel());
    ForChunks(groups, 1024, [&](size_t b, size_t e) {
      if (!spec_.stop.stop_requested()) kernels.fold(plan, b, e, in.data(), out.data());
    });
    if (auto s = Stopped(); !s.ok()) return s;
    inject.Release();
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Fp3>> FinalLayer() override {
    const Tracked<Fp3>& last = fri_.layers.back();
    return std::vector<Fp3>(last.data(), last.data() + last.size());
  }

  absl::StatusOr<QueryOpenings> Open(const OpeningPlan& plan) override {
    QueryOpenings out;
    out.tables.resize(tables_.size());
    for (size_t t = 0; t < tables_.size(); ++t) {
      const TableState& s = tables_[t];
      const std::vector<uint64_t>& rows = plan.table_rows[t];
      TableOpenings& o = out.tables[t];
      o.main = RowsOf(s.main_lde.data(), s.table->num_columns, s.N(), rows);
      if (s.aux_columns != 0) o.aux = RowsOf(s.aux_lde.data(), 3 * s.aux_columns, s.N(), rows);
      o.quotient = RowsOf(s.quotient_lde.data(), 3 * s.parts, s.N(), rows);
    }
    const std::pair<const std::optional<MerkleTree>*, MerkleProof*> rounds[] = {
        {&main_tree_, &out.main}, {&aux_tree_, &out.aux}, {&quotient_tree_, &out.quotient}};
    for (const auto& [tree, proof] : rounds) {
      if (!tree->has_value()) continue;  // no aux tree without interactions
      const std::vector<uint64_t>& leaves = tree == &aux_tree_ ? plan.aux_leaves : plan.main_leaves;
      auto p = (*tree)->Open(std::vector<size_t>(leaves.begin(), leaves.end()));
      if (!p.ok()) return p.status();
      *proof = *std::move(p);
    }
    for (size_t i = 0; i < plan.layers.size(); ++i) {
      const std::vector<uint64_t>& groups = plan.layer_groups[i];
      TreeOpening o;
      o.indices = groups;
      const size_t width = 3 << plan.layers[i].log_arity, layer = size_t(plan.layers[i].index);
      const Fp* base = reinterpret_cast<const Fp*>(fri_.layers[layer].data());
      for (uint64_t g : groups)
        o.values.insert(o.values.end(), base + g * width, base + (g + 1) * width);
      std::vector<size_t> idx(groups.begin(), groups.end());
      auto proof = fri_.trees[layer]->Open(idx);
      if (!proof.ok()) return proof.status();
      o.proof = *std::move(proof);
      out.fri_layers.push_back(std::move(o));
    }
    return out;
  }

 private:
  // CANCELLED once the job's stop token is requested: every operation checks it after its
  // parallel loops (whose bodies skip their work once it is set), before any result is used.
  absl::Status Stopped() const {
    if (spec_.stop.stop_requested()) return absl::CancelledError("cpu backend: job stopped");
    return absl::OkStatus();
  }

  // The rows of a column-major matrix (cols columns of len values) one after the other.
  static std::vector<Fp> RowsOf(const Fp* data, size_t cols, size_t len,
                                const std::vector<uint64_t>& rows) {
    std::vector<Fp> out;
    out.reserve(rows.size() * cols);
    for (uint64_t r : rows) {
      for (size_t c = 0; c < cols; ++c) out.push_back(data[c * len + r]);
    }
    return out;
  }

  // One round's tree over the tables' matrices that `matrix(table)` gives as (column-major
  // data, columns), tables without columns left out; no root when no table has any.
  template <typename MatrixOf>
  absl::StatusOr<std::optional<Digest>> CommitRound(std::optional<MerkleTree>& tree,
                                                    MatrixOf matrix) {
    std::vector<MerkleMatrix> ms;
    for (const TableState& s : tables_) {
      const auto [data, cols] = matrix(s);
      if (cols == 0) continue;
      ms.push_back(MerkleMatrix::OfColumns(Columns(data, cols, s.N()), s.N()));
    }
    if (ms.empty()) return std::optional<Digest>();
    auto built = MerkleTree::Build(ms, spec_.stop);
    if (auto s = Stopped(); !s.ok()) return s;
    if (!built.ok()) return built.status();
    tree.emplace(*std::move(built));
    return std::optional<Digest>(tree->root());
  }

  absl::Status BuildAux(size_t t, const Fp3& alpha, const Fp3& beta);
  absl::Status BuildQuotient(size_t t, const QuotientConstants& c);
  absl::Status QuotientCoefficients(size_t t, int log_e, std::span<Fp* const> qcols);
  void SplitQuotient(TableState& s, std::span<Fp* const> qcols);
  absl::Status CommitQuotientParts(TableState& s);
  absl::Status Ood(size_t t, const Fp3& z, TableOod& out);
  absl::Status Deep(size_t t, const DeepTask& task, Fp3* target);

  const JobSpec spec_;
  MemoryCounter& mem_;  // the driver's
  std::vector<TableState> tables_;
  std::vector<Fp3> challenges_;  // alpha, beta
  // The trace rounds' trees, each over every table of its round (aux: those with
  // interactions; none without any).
  std::optional<MerkleTree> main_tree_, aux_tree_, quotient_tree_;
  FriBuffers<Tracked<Fp3>, std::optional<MerkleTree>> fri_;
  Tracked<Fp> fold_twiddles_;
};

// The fingerprints phi_k (protocol/formulas.h) of a chunk's rows, interaction-major, through
// the SIMD kernel (`planes`: scratch of 3 count values).
void Fingerprints(const air::Table& table, const backend::cpu::DagEvaluator& ev,
                  std::span<const Fp3> alpha_pows, const Fp3& beta, size_t count,
                  AlignedBuffer<Fp>& planes, std::vector<Fp3>& phi) {
  const size_t k_count = table.interactions.size();
  const cpu::ArrayKernels& K = cpu::RowKernelsFor(ActiveSimdLevel()).array;
  phi.resize(k_count * count);
  std::vector<const Fp*> values;
  for (size_t k = 0; k < k_count; ++k) {
    const air::Interaction& in = table.interactions[k];
    values.clear();
    for (uint32_t v : in.values) values.push_back(ev.base(v));
    const cpu::Planes p{{planes.data(), planes.data() + count, planes.data() + 2 * count}};
    K.fingerprint(stark::FingerprintStart(beta, in.bus), alpha_pows.data(), values.data(),
                  uint32_t(values.size()), p, count);
    Fp3* out = phi.data() + k * count;
    for (size_t j = 0; j < count; ++j) out[j] = Fp3(p.c[0][j], p.c[1][j], p.c[2][j]);
  }
}

std::vector<uint32_t> InteractionRoots(const air::Table& table) {
  std::vector<uint32_t> roots;
  for (const air::Interaction& in : table.interactions) {
    roots.insert(roots.end(), in.values.begin(), in.values.end());
    roots.push_back(in.multiplicity);
  }
  return roots;
}

absl::Status CpuJob::BuildAux(size_t t, const Fp3& alpha, const Fp3& beta) {
  TableState& s = tables_[t];
  const air::Table& table = *s.table;
  const size_t n = s.n();
  const size_t base_cols = 3 * s.aux_columns;
  s.aux_trace = Tracked<Fp>(&mem_, base_cols * n);
  Fp* aux = s.aux_trace.data();
  const std::vector<uint32_t> roots = InteractionRoots(table);
  const std::vector<Fp3> alpha_pows = stark::FingerprintAlphaPowers(table, alpha);
  const std::vector<const Fp*> trace_cols = s.trace->column_pointers();
  const size_t chunk = std::min(n, cpu::kDagChunk);
  const size_t chunks = n / chunk;
  std::vector<Fp3> chunk_sums(chunks);
  std::atomic<uint64_t> bad_row{UINT64_MAX};
  const size_t s_col = 3 * (s.aux_columns - 1);
  tbb::parallel_for(
      tbb::blocked_range<size_t>(0, chunks, 16), [&](const tbb::blocked_range<size_t>& range) {
        cpu::DagEvaluator ev(table, roots, spec_.public_inputs, challenges_);
        std::vector<Fp3> phi, inv;
        AlignedBuffer<Fp> planes(3 * chunk);
        std::vector<const Fp*> cur(trace_cols.size());
        for (size_t ci = range.begin(); ci < range.end(); ++ci) {
          if (spec_.stop.stop_requested()) return;
          const size_t r0 = ci * chunk;
          for (size_t c = 0; c < cur.size(); ++c) cur[c] = trace_cols[c] + r0;
          ev.Evaluate(cur, {}, chunk);
          Fingerprints(table, ev, alpha_pows, beta, chunk, planes, phi);
          for (size_t i = 0; i < phi.size(); ++i) {
            if (phi[i].IsZero()) {
              uint64_t row = r0 + i % chunk, prev = bad_row.load();
              while (row < prev && !bad_row.compare_exchange_weak(prev, row)) {
              }
            }
          }
          inv.resize(phi.size());
          BatchInverse(phi, inv);
          // Helpers for every group but the last; in s, for now, the sum of the rows of
          // the chunk before this one (the chunk's offset and -r sigma / n come below).
          const size_t G = s.groups.size();
          Fp3 total = Fp3::Zero();
          for (size_t j = 0; j < chunk; ++j) {
            for (int c = 0; c < 3; ++c) aux[(s_col + c) * n + r0 + j] = total.coeff(c);
            for (size_t g = 0; g < G; ++g) {
              const auto& ks = s.groups[g].interactions;
              auto inv_phi = [&](size_t i) { return inv[ks[i] * chunk + j]; };
              auto m = [&](size_t i) { return ev.base(table.interactions[ks[i]].multiplicity)[j]; };
              const Fp3 h = ks.size() == 2 ? stark::GroupHelper(inv_phi(0), m(0), inv_phi(1), m(1))
                                           : stark::GroupHelper(inv_phi(0), m(0));
              if (g + 1 < G) {
                for (int c = 0; c < 3; ++c) aux[(3 * g + c) * n + r0 + j] = h.coeff(c);
              }
              total += h;
            }
          }
          chunk_sums[ci] = total;
        }
      });
  if (bad_row.load() != UINT64_MAX) {
    return WithFailureKind(
        absl::FailedPreconditionError(
            absl::StrCat("logup: a fingerprint vanishes on tables[", t, "] row ", bad_row.load(),
                         " (probability about rows / p^3); the proof aborts")),
        FailureKind::kUnprovable);
  }
  // s[r] = sum_{i < r} t[i] - r sigma / n, so that s' - s = t - sigma / n on every row,
  // the last one (whose next row is row 0) included.
  std::vector<Fp3> offsets(chunks);
  for (size_t ci = 1; ci < chunks; ++ci) offsets[ci] = offsets[ci - 1] + chunk_sums[ci - 1];
  s.sum = offsets[chunks - 1] + chunk_sums[chunks - 1];
  const Fp3 mean = s.sum * Fp::FromU64(n).Inverse();
  tbb::parallel_for(size_t{0}, chunks, [&](size_t ci) {
    Fp3 v = offsets[ci] - mean * Fp::FromU64(ci * chunk);
    for (size_t j = 0; j < chunk; ++j) {
      const size_t r = ci * chunk + j;
      for (int c = 0; c < 3; ++c) aux[(s_col + c) * n + r] += v.coeff(c);
      v -= mean;
    }
  });
  s.aux_lde = Tracked<Fp>(&mem_, base_cols * s.N());
  const std::vector<Fp*> in = Columns(aux, base_cols, n);
  const std::vector<Fp*> out = Columns(s.aux_lde.data(), base_cols, s.N());
  if (auto st = CosetLde(std::vector<const Fp*>(in.begin(), in.end()), s.log_n, spec_.log_blowup,
                         Fp::FromCanonical(stark::kLdeCosetOffset), out, spec_.stop);
      !st.ok()) {
    return st;
  }
  return absl::OkStatus();
}

// Round 3's evaluation of one table (docs/PROTOCOL.md section 6): the quotient
//   Q(x) = [sum_k gamma^k c_k(x) / Z_k(x)] over the AIR's constraints, then the LogUp groups,
// at the first E points of the LDE's bit-reversed order (the coset g <w_E>), chunk by
// chunk. Each chunk runs four named steps: LoadRows, AccumulateAirConstraints,
// AccumulateLogUp and Combine, over the planes of QuotientChunk.
class QuotientEvaluator {
 public:
  QuotientEvaluator(const TableState& s, const QuotientConstants& c,
                    std::span<const Fp3> challenges, std::span<const Fp> publics)
      : s_(s),
        table_(*s.table),
        c_(c),
        challenges_(challenges),
        publics_(publics),
        chunk_(std::min(s.n(), cpu::kDagChunk)),
        chunk_roots_(ChunkRoots(chunk_)),
        w_last_(Fp::RootOfUnity(s.log_n).Inverse()),
        K_(cpu::RowKernelsFor(ActiveSimdLevel()).array) {
    for (const air::Constraint& k : table_.constraints) roots_.push_back(k.expr);
    if (s.aux_columns != 0) {
      const std::vector<uint32_t> inter = InteractionRoots(table_);
      roots_.insert(roots_.end(), inter.begin(), inter.end());
      alpha_pows_ = stark::FingerprintAlphaPowers(table_, challenges_[0]);
    }
    std::vector<bool> seen(table_.num_columns, false);
    for (const air::Expr& e : table_.exprs) {
      if (e.op == air::ExprOp::kColumn && e.row_offset == 1 && !seen[e.value]) {
        seen[e.value] = true;
        next_cols_.push_back(static_cast<uint32_t>(e.value));
      }
    }
  }

  size_t chunk() const { return chunk_; }

  // Q at the E points from p = 0, into q (three planes of E values).
  void Evaluate(size_t E, Fp* q, const std::stop_token& stop) const {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, E / chunk_, 8),
                      [&](const tbb::blocked_range<size_t>& range) {
                        QuotientChunk w(*this);
                        for (size_t ci = range.begin(); ci < range.end(); ++ci) {
                          if (stop.stop_requested()) return;
                          const size_t p0 = ci * chunk_;
                          LoadRows(p0, w);
                          AccumulateAirConstraints(w);
                          if (s_.aux_columns != 0) AccumulateLogUp(p0, w);
                          Combine(w, cpu::Planes{{q + p0, q + E + p0, q + 2 * E + p0}});
                        }
                      });
  }

 private:
  // One thread's planes of chunk values (an extension plane is three base arrays): the
  // numerators by constraint kind, the running sum at the next row, the fingerprints and
  // the last LogUp group's terms; with the evaluator of the table's expressions.
  struct QuotientChunk {
    explicit QuotientChunk(const QuotientEvaluator& q)
        : ev(q.table_, q.roots_, q.publics_, q.challenges_),
          cur(q.table_.num_columns),
          nxt(q.table_.num_columns, nullptr),
          next_store(q.next_cols_.size() * q.chunk_),
          next_pos(q.chunk_),
          x(q.chunk_),
          den(2 * q.chunk_),
          den_inv(2 * q.chunk_),
          store((4 + 2 + (q.s_.aux_columns == 0 ? 0 : q.table_.interactions.size())) * 3 *
                q.chunk_) {
      const size_t n = q.chunk_;
      size_t next = 0;
      auto plane = [&] {
        Fp* p = store.data() + 3 * n * next++;
        return cpu::Planes{{p, p + n, p + 2 * n}};
      };
      every_row = plane(), transition = plane(), first_row = plane(), last_row = plane();
      running_sum_next = plane(), last_terms = plane();
      fingerprints.resize(q.s_.aux_columns == 0 ? 0 : q.table_.interactions.size());
      for (cpu::Planes& f : fingerprints) f = plane();
    }
    const cpu::Planes& numerator(air::ConstraintKind kind) const {
      return air::ForKind(kind, every_row, transition, first_row, last_row);
    }

    cpu::DagEvaluator ev;
    std::vector<const Fp*> cur, nxt;
    std::vector<Fp> next_store;
    std::vector<size_t> next_pos;
    std::vector<Fp> x, den, den_inv;
    Fp zinv;
    AlignedBuffer<Fp> store;
    cpu::Planes every_row, transition, first_row, last_row;  // sums of gamma^k c_k, by kind
    cpu::Planes running_sum_next;           // the LogUp running sum at the next-row points
    cpu::Planes last_terms;                 // the last LogUp group's terms
    std::vector<cpu::Planes> fingerprints;  // phi_k, one plane per interaction
  };

  // The chunk's points x and inverse vanishing factors, and its rows: the main columns at
  // the points and, for the columns read at the next row, at the next-row points; then
  // every expression the constraints and the fingerprints read.
  void LoadRows(size_t p0, QuotientChunk& w) const {
    const size_t n = s_.n(), N = s_.N();
    const Fp* main = s_.main_lde.data();
    for (size_t j = 0; j < chunk_; ++j) w.next_pos[j] = stark::NextRowPosition(p0 + j, s_.log_n);
    for (uint32_t col = 0; col < table_.num_columns; ++col) w.cur[col] = main + col * N + p0;
    for (size_t k = 0; k < next_cols_.size(); ++k) {
      const Fp* col = main + size_t{next_cols_[k]} * N;
      Fp* dst = w.next_store.data() + k * chunk_;
      for (size_t j = 0; j < chunk_; ++j) dst[j] = col[w.next_pos[j]];
      w.nxt[next_cols_[k]] = dst;
    }
    w.ev.Evaluate(w.cur, w.nxt, chunk_);
    CosetPoints(s_.log_N, p0, chunk_, chunk_roots_, w.x.data());
    for (size_t j = 0; j < chunk_; ++j) {
      w.den[j] = w.x[j] - Fp::One();
      w.den[chunk_ + j] = w.x[j] - w_last_;
    }
    BatchInverse(w.den, w.den_inv);
    w.zinv = (w.x[0].Pow(n) - Fp::One()).Inverse();  // x^n is constant on a coset
  }

  // numerator(kind) = sum of gamma^k c_k over the AIR's constraints of that kind.
  void AccumulateAirConstraints(QuotientChunk& w) const {
    for (const cpu::Planes* p : {&w.every_row, &w.transition, &w.first_row, &w.last_row}) {
      for (Fp* plane : p->c) std::fill(plane, plane + chunk_, Fp::Zero());
    }
    for (size_t k = 0; k < c_.num_air; ++k) {
      const air::Constraint& con = table_.constraints[k];
      const cpu::Planes a = w.numerator(con.kind);
      if (w.ev.is_ext(con.expr)) {
        const Fp3* v = w.ev.ext(con.expr);
        for (size_t j = 0; j < chunk_; ++j) {
          const Fp3 t = c_.gamma_pows[k] * v[j];
          for (int i = 0; i < 3; ++i) a.c[i][j] += t.coeff(i);
        }
      } else {
        K_.axpy_base(c_.gamma_pows[k], w.ev.base(con.expr), a, chunk_);
      }
    }
  }

  // every_row += gamma^(num_air + g) times group g's constraint (protocol/formulas.h): the
  // helper column h_g for every group but the last, whose terms are
  // s' - s - sum of the helpers + sigma / n.
  void AccumulateLogUp(size_t p0, QuotientChunk& w) const {
    const size_t N = s_.N();
    const Fp* aux = s_.aux_lde.data();
    const uint32_t s_col = s_.aux_columns - 1;
    for (int i = 0; i < 3; ++i) {
      const Fp* col = aux + size_t{3 * s_col + i} * N;
      for (size_t j = 0; j < chunk_; ++j) w.running_sum_next.c[i][j] = col[w.next_pos[j]];
    }
    auto aux_at = [&](uint32_t col) {
      const Fp* b = aux + size_t{3 * col} * N + p0;
      return cpu::ConstPlanes(b, b + N, b + 2 * N);
    };
    const Fp3 beta = challenges_[1];
    std::vector<const Fp*> values;
    for (size_t k = 0; k < table_.interactions.size(); ++k) {
      const air::Interaction& in = table_.interactions[k];
      values.clear();
      for (uint32_t v : in.values) values.push_back(w.ev.base(v));
      K_.fingerprint(stark::FingerprintStart(beta, in.bus), alpha_pows_.data(), values.data(),
                     uint32_t(values.size()), w.fingerprints[k], chunk_);
    }
    auto group_constraint = [&](size_t g, cpu::ConstPlanes h) {
      const auto& ks = s_.groups[g].interactions;
      const Fp* mk = w.ev.base(table_.interactions[ks[0]].multiplicity);
      const bool pair = ks.size() == 2;
      K_.group_constraint(c_.gamma_pows[c_.num_air + g], h, w.fingerprints[ks[0]], mk,
                          pair ? w.fingerprints[ks[1]] : cpu::Planes{},
                          pair ? w.ev.base(table_.interactions[ks[1]].multiplicity) : nullptr,
                          w.every_row, chunk_);
    };
    const size_t G = s_.groups.size();
    for (size_t g = 0; g + 1 < G; ++g) group_constraint(g, aux_at(uint32_t(g)));
    const cpu::ConstPlanes sv = aux_at(s_col);
    const cpu::Planes& t = w.last_terms;
    for (int i = 0; i < 3; ++i) {
      K_.sub(w.running_sum_next.c[i], sv.c[i], t.c[i], chunk_);
      for (size_t g = 0; g + 1 < G; ++g) K_.sub(t.c[i], aux_at(uint32_t(g)).c[i], t.c[i], chunk_);
      const Fp m = c_.mean.coeff(i);
      for (size_t j = 0; j < chunk_; ++j) t.c[i][j] += m;
    }
    group_constraint(G - 1, t);
  }

  // Q = (every_row + transition (x - w_last)) / (x^n - 1) + first_row / (x - 1)
  //     + last_row / (x - w_last).
  void Combine(const QuotientChunk& w, cpu::Planes out) const {
    K_.combine(w.every_row, w.transition, w.first_row, w.last_row, w.x.data(), w.den_inv.data(),
               w.den_inv.data() + chunk_, w_last_, w.zinv, out, chunk_);
  }

  const TableState& s_;
  const air::Table& table_;
  const QuotientConstants& c_;
  std::span<const Fp3> challenges_;
  std::span<const Fp> publics_;
  const size_t chunk_;
  const std::vector<Fp> chunk_roots_;
  const Fp w_last_;  // w_n^(n-1)
  const cpu::ArrayKernels& K_;
  std::vector<uint32_t> roots_;      // the expressions the chunk evaluator computes
  std::vector<uint32_t> next_cols_;  // the main columns read at the next row
  std::vector<Fp3> alpha_pows_;
};

absl::Status CpuJob::BuildQuotient(size_t t, const QuotientConstants& c) {
  TableState& s = tables_[t];
  // Q has degree below parts * n, so it is known from its values on E = 2^ceil(log parts) n
  // points: the first E positions of the bit-reversed LDE are the coset g <w_E>.
  const int log_e = s.log_n + CeilLog2(s.parts);
  const size_t E = size_t{1} << log_e;
  Tracked<Fp> q(&mem_, 3 * E);
  QuotientEvaluator(s, c, challenges_, spec_.public_inputs).Evaluate(E, q.data(), spec_.stop);
  if (auto st = Stopped(); !st.ok()) return st;  // the chunks above were skipped
  std::vector<Fp*> qcols = Columns(q.data(), 3, E);
  if (auto st = QuotientCoefficients(t, log_e, qcols); !st.ok()) return st;
  SplitQuotient(s, qcols);
  q.Release();
  return CommitQuotientParts(s);
}

// Q's values on g <w_E> (bit-reversed) -> the coefficients of Q(g y), which must vanish
// from parts * n on: a higher one means a constraint fails on the trace.
absl::Status CpuJob::QuotientCoefficients(size_t t, int log_e, std::span<Fp* const> qcols) {
  const TableState& s = tables_[t];
  if (auto st = InverseNtt(qcols, log_e, Order::kBitReversed, Order::kNatural); !st.ok()) return st;
  const size_t degree_bound = size_t{s.parts} * s.n(), E = size_t{1} << log_e;
  for (int c = 0; c < 3; ++c) {
    for (size_t k = degree_bound; k < E; ++k) {
      if (!qcols[c][k].IsZero()) {
        return WithFailureKind(
            Internal("quotient", absl::StrCat("tables[", t, "]: the quotient has degree >= ",
                                              degree_bound, " (a constraint fails)")),
            FailureKind::kConstraintsUnsatisfied);
      }
    }
  }
  return absl::OkStatus();
}

// Q(x) = sum_i x^(i n) Q_i(x): part i has the coefficients k in [i n, (i + 1) n) of Q,
// which are those of Q(g y) times g^-k.
void CpuJob::SplitQuotient(TableState& s, std::span<Fp* const> qcols) {
  const size_t n = s.n(), degree_bound = size_t{s.parts} * n;
  s.quotient_coeffs = Tracked<Fp>(&mem_, 3 * s.parts * n);
  const Fp g_inv = Fp::FromCanonical(stark::kLdeCosetOffset).Inverse();
  ForChunks(degree_bound, 4096, [&](size_t b, size_t e) {
    Fp f = g_inv.Pow(b);
    for (size_t k = b; k < e; ++k) {
      const size_t i = k / n, j = k % n;
      for (int c = 0; c < 3; ++c) s.quotient_coeffs[(3 * i + c) * n + j] = qcols[c][k] * f;
      f *= g_inv;
    }
  });
}

// The parts' LDE values Q_i(g w_N^bitrev(r)), an NTT of the coefficients of Q_i(g y) (those
// of Q_i times g^j) padded to N.
absl::Status CpuJob::CommitQuotientParts(TableState& s) {
  const size_t n = s.n(), N = s.N(), base_cols = 3 * s.parts;
  s.quotient_lde = Tracked<Fp>(&mem_, base_cols * N);
  std::vector<Fp*> lcols = Columns(s.quotient_lde.data(), base_cols, N);
  const Fp g = Fp::FromCanonical(stark::kLdeCosetOffset);
  for (size_t col = 0; col < base_cols; ++col) {
    const Fp* src = s.quotient_coeffs.data() + col * n;
    Fp* dst = lcols[col];
    ForChunks(n, 4096, [&](size_t b, size_t e) {
      Fp f = g.Pow(b);
      for (size_t j = b; j < e; ++j) {
        dst[j] = src[j] * f;
        f *= g;
      }
    });
    std::fill(dst + n, dst + N, Fp::Zero());
  }
  return ForwardNtt(lcols, s.log_N, Order::kNatural, Order::kBitReversed);
}

// Barycentric evaluation of the columns of a trace-domain matrix at z and z w_n:
// f(z) = (z^n - 1) / n * sum_i f_i d_i with d_i = w^i / (z - w^i), and, as
// z w - w^i = w (z - w^(i-1)), f(z w) = (z^n - 1) / n * sum_i f_i d_(i-1).
void Barycentric(const Fp* data, size_t cols, int log_n, std::span<const Fp3> d, const Fp3& scale,
                 std::vector<Fp3>& at_z, std::vector<Fp3>& at_zw) {
  const size_t n = size_t{1} << log_n;
  at_z.assign(cols, Fp3::Zero());
  at_zw.assign(cols, Fp3::Zero());
  tbb::parallel_for(size_t{0}, cols, [&](size_t c) {
    const Fp* f = data + c * n;
    const size_t block = 4096;
    const size_t blocks = (n + block - 1) / block;
    std::vector<Fp3> part_z(blocks), part_zw(blocks);
    tbb::parallel_for(size_t{0}, blocks, [&](size_t b) {
      WideSum a[3], bb[3];
      const size_t end = std::min(n, (b + 1) * block);
      for (size_t i = b * block; i < end; ++i) {
        const Fp3& di = d[i];
        const Fp3& dprev = d[(i + n - 1) & (n - 1)];
        for (int c = 0; c < 3; ++c) {
          a[c].AddProduct(di.coeff(c), f[i]);
          bb[c].AddProduct(dprev.coeff(c), f[i]);
        }
      }
      part_z[b] = Fp3(a[0].Reduce(), a[1].Reduce(), a[2].Reduce());
      part_zw[b] = Fp3(bb[0].Reduce(), bb[1].Reduce(), bb[2].Reduce());
    });
    Fp3 a = Fp3::Zero(), b = Fp3::Zero();
    for (size_t k = 0; k < blocks; ++k) {
      a += part_z[k];
      b += part_zw[k];
    }
    at_z[c] = a * scale;
    at_zw[c] = b * scale;
  });
}

// sum_j c[j] y^j for each of `cols` columns of n coefficients: in blocks of L, each a
// dot product with y^0 .. y^(L-1), joined by Horner's rule in y^L.
std::vector<Fp3> EvaluateCoefficients(const Fp* data, size_t cols, size_t n, const Fp3& y) {
  const size_t L = std::min<size_t>(n, 4096), blocks = n / L;
  std::vector<Fp3> pw(L);
  pw[0] = Fp3::One();
  for (size_t j = 1; j < L; ++j) pw[j] = pw[j - 1] * y;
  const Fp3 yl = pw[L - 1] * y;
  std::vector<Fp3> part(cols * blocks);
  tbb::parallel_for(size_t{0}, cols * blocks, [&](size_t t) {
    const Fp* c = data + (t / blocks) * n + (t % blocks) * L;
    WideSum acc[3];
    for (size_t j = 0; j < L; ++j) {
      for (int k = 0; k < 3; ++k) acc[k].AddProduct(pw[j].coeff(k), c[j]);
    }
    part[t] = Fp3(acc[0].Reduce(), acc[1].Reduce(), acc[2].Reduce());
  });
  std::vector<Fp3> out(cols, Fp3::Zero());
  for (size_t c = 0; c < cols; ++c) {
    for (size_t b = blocks; b-- > 0;) out[c] = out[c] * yl + part[c * blocks + b];
  }
  return out;
}

std::vector<Fp3> Combine3(const std::vector<Fp3>& base_evals) {
  // An extension column c0 + c1 X + c2 X^2 evaluates to A0(z) + A1(z) X + A2(z) X^2.
  const Fp3 x(Fp::Zero(), Fp::One(), Fp::Zero());
  const Fp3 x2 = x * x;
  std::vector<Fp3> out(base_evals.size() / 3);
  for (size_t k = 0; k < out.size(); ++k) {
    out[k] = base_evals[3 * k] + x * base_evals[3 * k + 1] + x2 * base_evals[3 * k + 2];
  }
  return out;
}

absl::Status CpuJob::Ood(size_t t, const Fp3& z, TableOod& out) {
  const TableState& s = tables_[t];
  const size_t n = s.n();
  const Fp3 zn = z.Pow(n);  // not 1: the driver checked z
  const Fp w = Fp::RootOfUnity(s.log_n);
  // d_i = w^i / (z - w^i) = -w^i / (w^i - z) = -w^i Num(w^i) / m(w^i) (field/difference_inverse.h).
  const DifferenceInverse di(z);
  // From the pool: fresh vectors of this size would fault their pages in on every proof.
  Tracked<Fp> wpow(&mem_, n), den(&mem_, n), den_inv(&mem_, n);
  Tracked<Fp3> d(&mem_, n);
  ForChunks(n, 4096, [&](size_t b, size_t e) {
    Fp p = w.Pow(b);
    for (size_t i = b; i < e; ++i) {
      wpow[i] = p;
      den[i] = di.Denominator(p);
      p *= w;
    }
  });
  BatchInverse(std::span<const Fp>(den.data(), n), std::span<Fp>(den_inv.data(), n));
  ForChunks(n, 4096, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) d[i] = di.Numerator(wpow[i]) * -(wpow[i] * den_inv[i]);
  });
  const Fp3 scale = (zn - Fp3::One()) * Fp::FromU64(n).Inverse();
  const std::span<const Fp3> dv(d.data(), n);
  Barycentric(s.trace->column(0), s.table->num_columns, s.log_n, dv, scale, out.main,
              out.main_next);
  if (s.aux_columns != 0) {
    std::vector<Fp3> az, azw;
    Barycentric(s.aux_trace.data(), 3 * s.aux_columns, s.log_n, dv, scale, az, azw);
    out.aux = Combine3(az);
    out.aux_next = Combine3(azw);
  }
  // Quotient parts from their coefficients.
  std::vector<Fp3> qz = EvaluateCoefficients(s.quotient_coeffs.data(), 3 * s.parts, n, z);
  out.quotient = Combine3(qz);
  return absl::OkStatus();
}

absl::Status CpuJob::Deep(size_t t, const DeepTask& task, Fp3* target) {
  const TableState& s = tables_[t];
  const size_t N = s.N();
  const size_t m = s.table->num_columns, a = s.aux_columns, q = s.parts;
  // lambda^t rides on every coefficient, so the sums below are already scaled.
  const DeepConstants& dc = task.constants;
  const DifferenceInverse &inv_z = task.inv_z, &inv_zw = task.inv_zw;
  cpu::DeepPlan plan;
  plan.ez[0] = inv_z.e0(), plan.ez[1] = inv_z.e1(), plan.ez[2] = inv_z.e2();
  plan.bz = inv_z.b(), plan.az = inv_z.a();
  plan.ew[0] = inv_zw.e0(), plan.ew[1] = inv_zw.e1(), plan.ew[2] = inv_zw.e2();
  plan.s = dc.shift, plan.sb = dc.shift * inv_zw.b(), plan.sa = dc.shift * inv_zw.a();
  plan.c_z = dc.c_z, plan.c_zw = dc.c_zw;
  plan.coef = dc.coef.data();
  plan.m = m, plan.a = a, plan.q = q;
  plan.main = s.main_lde.data(), plan.aux = s.aux_lde.data(), plan.quot = s.quotient_lde.data();
  plan.stride = N;
  const cpu::RowKernels& kernels = cpu::RowKernelsFor(ActiveSimdLevel());
  // D has degree below n, so for a wide table it is cheaper to evaluate it on the first n
  // LDE positions (the coset g <w_n>) and extend those by NTTs of three columns than to
  // read every column at all N points. Both give the same values. (The padded size-N NTT
  // measured faster here than CosetLde's per-coset passes from coefficients.)
  const size_t width = m + 3 * a + 3 * q;
  const bool extend = width >= kDeepExtendMinWidth && s.log_N > s.log_n;
  const size_t points = extend ? s.n() : N;
  const size_t chunk = std::min(points, cpu::kDeepRows);
  const std::vector<Fp> chunk_roots = ChunkRoots(chunk);
  Tracked<Fp3> first;
  if (extend) {
    first = Tracked<Fp3>(&mem_, points);
    std::fill(first.data(), first.data() + points, Fp3::Zero());
  }
  Fp3* out = extend ? first.data() : target;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, points / chunk, 4),
                    [&](const tbb::blocked_range<size_t>& range) {
                      std::vector<Fp> x(chunk);
                      for (size_t ci = range.begin(); ci < range.end(); ++ci) {
                        const size_t p0 = ci * chunk;
                        CosetPoints(s.log_N, p0, chunk, chunk_roots, x.data());
                        kernels.deep(plan, p0, chunk, x.data(), out + p0);
                      }
                    });
  if (!extend) return absl::OkStatus();
  const size_t n = s.n();
  Tracked<Fp> cols(&mem_, 3 * n), lde(&mem_, 3 * N);
  ForChunks(n, 4096, [&](size_t b, size_t e) {
    for (size_t j = b; j < e; ++j) {
      for (int c = 0; c < 3; ++c) cols[c * n + j] = first[j].coeff(c);
    }
  });
  first.Release();
  // Values on g <w_n>, bit-reversed -> coefficients of D(g y) -> padded to N -> the values
  // D(g w_N^bitrev(r)) at every LDE position.
  std::vector<Fp*> in = {cols.data(), cols.data() + n, cols.data() + 2 * n};
  if (auto st = InverseNtt(in, s.log_n, Order::kBitReversed, Order::kNatural); !st.ok()) return st;
  const std::vector<Fp*> ext = {lde.data(), lde.data() + N, lde.data() + 2 * N};
  for (int c = 0; c < 3; ++c) {
    std::copy(in[c], in[c] + n, ext[c]);
    std::fill(ext[c] + n, ext[c] + N, Fp::Zero());
  }
  if (auto st = ForwardNtt(ext, s.log_N, Order::kNatural, Order::kBitReversed); !st.ok()) return st;
  ForChunks(N, 4096, [&](size_t b, size_t e) {
    for (size_t p = b; p < e; ++p) target[p] += Fp3(ext[0][p], ext[1][p], ext[2][p]);
  });
  return absl::OkStatus();
}

class CpuBackend final : public Backend {
 public:
  std::string_view name() const override { return "cpu"; }
  absl::StatusOr<std::unique_ptr<ProvingJob>> StartJob(const JobSpec& spec) override {
    return StartDrivenJob("cpu", spec, [&](MemoryCounter* mem) {
      return absl::StatusOr<std::unique_ptr<DataPath>>(std::make_unique<CpuJob>(spec, mem));
    });
  }
  uint64_t EstimatePeakBytes(const JobSpec& spec) const override {
    // Besides what every engine holds, the trace-domain aux and quotient columns.
    uint64_t max_nodes = 0;
    const uint64_t held = EstimateJobBytes(spec, [&](const TableBytes& b) {
      max_nodes = std::max<uint64_t>(max_nodes, b.table->exprs.size());
      return 8 * b.n * (3 * b.shape.aux_columns + 3 * b.shape.quotient_parts);
    });
    // The expression evaluators' arena: every thread evaluating constraints holds one
    // DagEvaluator of up to (nodes x kDagChunk) extension values, plus its per-node tables;
    // one more for a thread that takes a second task while it waits on a nested loop.
    const uint64_t threads = uint64_t(std::max(1, tbb::this_task_arena::max_concurrency()));
    const uint64_t arena = (threads + 1) * max_nodes * (sizeof(Fp3) * cpu::kDagChunk + 32);
    // Thread stacks touched, the domain tables of these sizes, allocator slack.
    constexpr uint64_t kFixed = 16ull << 20;
    return held + arena + kFixed;
  }
};

}  // namespace

std::unique_ptr<Backend> MakeCpuBackend() { return std::make_unique<CpuBackend>(); }

}  // namespace prover::backend
