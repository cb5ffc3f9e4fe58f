#include "engine/backend/cuda/device_job.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "engine/backend/cuda/domain_cache.h"
#include "engine/backend/cuda/program_compiler.h"
#include "engine/backend/job_common.h"
#include "engine/backend/job_driver.h"
#include "engine/base/failure.h"
#include "engine/protocol/logup.h"
#include "engine/protocol/shape.h"
#include "kernels/geometry.h"

namespace prover::backend::cuda {
namespace {

using stark::LogUpGroup;

// A device allocation counted toward the job's memory; freed on destruction.
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    Release();
    dev_ = std::exchange(o.dev_, nullptr);
    mem_ = std::exchange(o.mem_, nullptr);
    ptr_ = std::exchange(o.ptr_, nullptr);
    words_ = std::exchange(o.words_, 0);
    return *this;
  }
  ~Buffer() { Release(); }
  static absl::StatusOr<Buffer> Make(Device& dev, MemoryCounter& mem, uint64_t words) {
    auto p = dev.Alloc(std::max<uint64_t>(words, 1));
    if (!p.ok()) return p.status();
    Buffer b;
    b.dev_ = &dev;
    b.mem_ = &mem;
    b.ptr_ = *p;
    b.words_ = words;
    mem.Add(8 * words);
    return b;
  }
  void Release() {
    if (ptr_ != nullptr) {
      dev_->Free(ptr_);
      mem_->Sub(8 * words_);
    }
    ptr_ = nullptr;
    words_ = 0;
  }
  uint64_t* get() const { return ptr_; }
  uint64_t words() const { return words_; }
  bool empty() const { return ptr_ == nullptr; }

 private:
  Device* dev_ = nullptr;
  MemoryCounter* mem_ = nullptr;
  uint64_t* ptr_ = nullptr;
  uint64_t words_ = 0;
};

#define ASSIGN_OR_RETURN_IMPL(var, expr, tmp) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  var = std::move(*tmp)
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define ASSIGN_OR_RETURN(var, expr) ASSIGN_OR_RETURN_IMPL(var, expr, CAT(status_or_, __LINE__))
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    if (absl::Status s_ = (expr); !s_.ok()) return s_; \
  } while (0)

struct TableState : TableLayout {
  const DeviceDomain* domain = nullptr;
  Buffer trace, main_coeffs, main_lde;
  Buffer aux_trace, aux_sum, aux_coeffs, aux_lde;
  Fp3 sum;
  Buffer quotient_coeffs, quotient_lde;
};

// One trace round's tree over every table of the round (docs/PROTOCOL.md sections 4 to 6):
// its nodes (2H digests) and height H.
struct RoundTree {
  Buffer nodes;
  uint64_t height = 0;
};

std::vector<uint64_t*> ColumnsOf(const Buffer& b, uint32_t cols, uint64_t len) {
  std::vector<uint64_t*> out(cols);
  for (uint32_t c = 0; c < cols; ++c) out[c] = b.get() + uint64_t{c} * len;
  return out;
}

Fp3 Combine(const Fp3& c0, const Fp3& c1, const Fp3& c2) {
  const Fp3 x(Fp::Zero(), Fp::One(), Fp::Zero());
  return c0 + x * c1 + (x * x) * c2;
}

// Everything one Gather brings back, appended in order and read back in the same order.
class GatherList {
 public:
  void Add(const uint64_t* address) { addresses_.push_back(address); }
  void AddDigest(const uint64_t* nodes, uint64_t index) {
    for (int l = 0; l < 4; ++l) Add(nodes + 4 * index + l);
  }
  absl::Status Run(Device& dev) {
    values_.assign(addresses_.size(), 0);
    return addresses_.empty() ? absl::OkStatus() : dev.Gather(addresses_, values_.data());
  }
  uint64_t Next() { return values_[read_++]; }
  Fp NextFp() { return Fp::FromCanonical(Next()); }
  Digest NextDigest() {
    Digest d;
    for (int l = 0; l < 4; ++l) {
      const uint64_t v = Next();
      for (int b = 0; b < 8; ++b) d[8 * l + b] = uint8_t(v >> (8 * b));
    }
    return d;
  }

 private:
  std::vector<const uint64_t*> addresses_;
  std::vector<uint64_t> values_;
  size_t read_ = 0;
};

// The constraint programs of rounds 2 and 3 of a table, as the job compiles them and as
// the memory estimate sizes their register scratch. challenges: alpha, beta.
ProgramRequest AuxRequest(std::span<const Fp3> challenges, std::span<const Fp> publics) {
  ProgramRequest req;
  req.fingerprints = true;
  req.alpha = challenges[0];
  req.beta = challenges[1];
  req.public_inputs = publics;
  req.challenges = challenges;
  return req;
}

ProgramRequest QuotientRequest(std::span<const Fp3> air_gamma_pows, bool logup,
                               std::span<const Fp3> challenges, std::span<const Fp> publics) {
  ProgramRequest req = AuxRequest(challenges, publics);
  req.fingerprints = logup;
  req.constraints = true;
  req.gamma_pows = air_gamma_pows;
  return req;
}

// The CUDA engine's data path (job_driver.h): device buffers, kernels on one stream; each
// call ends with the stream synchronized.
class DeviceJob final : public DataPath {
 public:
  DeviceJob(std::unique_ptr<Device> dev, const JobSpec& spec, MemoryCounter* mem)
      : dev_(std::move(dev)), spec_(spec), mem_(*mem) {
    const air::Air& air = *spec_.air;
    tables_.resize(air.tables.size());
    for (size_t t = 0; t < tables_.size(); ++t) {
      tables_[t].Init(spec_, t);
      classes_[tables_[t].log_n].push_back(t);
    }
  }
  ~DeviceJob() override {
    // Buffers go back to the device's pool on its stream; wait so that a failed job
    // leaves nothing running behind it.
    (void)dev_->Sync();
  }

  absl::StatusOr<Digest> CommitMain(const air::Trace& trace) override {
    for (TableState& s : tables_) {
      ASSIGN_OR_RETURN(s.domain, dev_->Domain(s.log_n, spec_.log_blowup,
                                              Fp::FromCanonical(stark::kLdeCosetOffset)));
    }
    for (auto& [log_n, members] : classes_) {
      std::vector<const uint64_t*> src;
      std::vector<uint64_t*> coeffs, lde;
      for (size_t t : members) {
        TableState& s = tables_[t];
        const uint32_t cols = s.table->num_columns;
        ASSIGN_OR_RETURN(s.trace, Buffer::Make(*dev_, mem_, uint64_t{cols} * s.n()));
        ASSIGN_OR_RETURN(s.main_coeffs, Buffer::Make(*dev_, mem_, uint64_t{cols} * s.n()));
        ASSIGN_OR_RETURN(s.main_lde, Buffer::Make(*dev_, mem_, uint64_t{cols} * s.N()));
        RETURN_IF_ERROR(dev_->Upload(s.trace.get(),
                                     reinterpret_cast<const uint64_t*>(trace.tables[t].column(0)),
                                     uint64_t{cols} * s.n()));
        for (uint64_t* c : ColumnsOf(s.trace, cols, s.n())) src.push_back(c);
        for (uint64_t* c : ColumnsOf(s.main_coeffs, cols, s.n())) coeffs.push_back(c);
        for (uint64_t* c : ColumnsOf(s.main_lde, cols, s.N())) lde.push_back(c);
      }
      RETURN_IF_ERROR(Lde(src, coeffs, lde, *tables_[members[0]].domain));
    }
    RETURN_IF_ERROR(BuildRoundTree(main_tree_, [](const TableState& s) {
      return std::make_pair(s.main_lde.get(), s.table->num_columns);
    }));
    GatherList g;
    g.AddDigest(main_tree_.nodes.get(), 1);
    RETURN_IF_ERROR(g.Run(*dev_));
    RETURN_IF_ERROR(dev_->Sync());
    return g.NextDigest();
  }

  absl::StatusOr<AuxCommitment> CommitAux(const Fp3& alpha, const Fp3& beta) override {
    const std::vector<Fp3> challenges = {alpha, beta};
    std::vector<AuxTable> aux;
    std::vector<size_t> aux_tables;
    for (size_t t = 0; t < tables_.size(); ++t) {
      TableState& s = tables_[t];
      if (s.aux_columns == 0) continue;
      AuxTable a;
      ASSIGN_OR_RETURN(
          a.prog,
          StageProgram(CompileTableProgram(*s.table, AuxRequest(challenges, spec_.public_inputs)),
                       s));
      ASSIGN_OR_RETURN(s.aux_trace, Buffer::Make(*dev_, mem_, 3ull * s.aux_columns * s.n()));
      ASSIGN_OR_RETURN(s.aux_sum, Buffer::Make(*dev_, mem_, 3));
      a.trace = s.trace.get();
      a.log_n = s.log_n;
      a.aux = s.aux_trace.get();
      a.sum = s.aux_sum.get();
      aux.push_back(a);
      aux_tables.push_back(t);
    }
    AuxCommitment out;
    out.tables.resize(tables_.size());
    if (aux.empty()) return out;
    ASSIGN_OR_RETURN(const auto bad, dev_->AuxColumns(aux));
    if (bad.first >= 0) {
      return WithFailureKind(
          absl::FailedPreconditionError(absl::StrCat(
              "logup: a fingerprint vanishes on tables[", aux_tables[bad.first], "] row ",
              bad.second, " (probability about rows / p^3); the proof aborts")),
          FailureKind::kUnprovable);
    }
    for (auto& [log_n, members] : classes_) {
      std::vector<const uint64_t*> src;
      std::vector<uint64_t*> coeffs, lde;
      for (size_t t : members) {
        TableState& s = tables_[t];
        if (s.aux_columns == 0) continue;
        const uint32_t cols = 3 * s.aux_columns;
        ASSIGN_OR_RETURN(s.aux_coeffs, Buffer::Make(*dev_, mem_, uint64_t{cols} * s.n()));
        ASSIGN_OR_RETURN(s.aux_lde, Buffer::Make(*dev_, mem_, uint64_t{cols} * s.N()));
        for (uint64_t* c : ColumnsOf(s.aux_trace, cols, s.n())) src.push_back(c);
        for (uint64_t* c : ColumnsOf(s.aux_coeffs, cols, s.n())) coeffs.push_back(c);
        for (uint64_t* c : ColumnsOf(s.aux_lde, cols, s.N())) lde.push_back(c);
      }
      if (!src.empty()) RETURN_IF_ERROR(Lde(src, coeffs, lde, *tables_[members[0]].domain));
    }
    RETURN_IF_ERROR(BuildRoundTree(aux_tree_, [](const TableState& s) {
      return std::make_pair(s.aux_lde.get(), 3 * s.aux_columns);
    }));
    GatherList g;
    for (size_t t : aux_tables) {
      for (int c = 0; c < 3; ++c) g.Add(tables_[t].aux_sum.get() + c);
    }
    g.AddDigest(aux_tree_.nodes.get(), 1);
    RETURN_IF_ERROR(g.Run(*dev_));
    RETURN_IF_ERROR(dev_->Sync());
    for (size_t t : aux_tables) {
      const Fp c0 = g.NextFp(), c1 = g.NextFp(), c2 = g.NextFp();
      tables_[t].sum = Fp3(c0, c1, c2);
      out.tables[t] = {true, tables_[t].sum};
    }
    out.root = g.NextDigest();
    return out;
  }

  // Round 3 (docs/PROTOCOL.md section 6): each table's quotient on g <w_E>, its
  // coefficients (checked against the degree bound), its parts, their LDE, and the round's
  // tree.
  absl::StatusOr<Digest> CommitQuotient(const QuotientRound& round) override {
    ASSIGN_OR_RETURN(std::vector<Buffer> values, EvaluateQuotients(round));
    RETURN_IF_ERROR(QuotientCoefficients(values));
    RETURN_IF_ERROR(CommitQuotientParts(values));
    values.clear();
    RETURN_IF_ERROR(BuildRoundTree(quotient_tree_, [](const TableState& s) {
      return std::make_pair(s.quotient_lde.get(), 3 * s.parts);
    }));
    GatherList gl;
    gl.AddDigest(quotient_tree_.nodes.get(), 1);
    RETURN_IF_ERROR(gl.Run(*dev_));
    RETURN_IF_ERROR(dev_->Sync());
    return gl.NextDigest();
  }

  absl::StatusOr<std::vector<TableOod>> EvaluateOod(const Fp3& z) override {
    const Fp3 zy = z * Fp::FromCanonical(stark::kLdeCosetOffset).Inverse();
    std::vector<PolyEval> polys;
    for (const TableState& s : tables_) {
      const Fp3 zw = z * Fp::RootOfUnity(s.log_n);
      for (uint32_t c = 0; c < s.table->num_columns; ++c) {
        polys.push_back({s.main_coeffs.get() + c * s.n(), s.n(), z});
        polys.push_back({s.main_coeffs.get() + c * s.n(), s.n(), zw});
      }
      for (uint32_t c = 0; c < 3 * s.aux_columns; ++c) {
        polys.push_back({s.aux_coeffs.get() + c * s.n(), s.n(), z});
        polys.push_back({s.aux_coeffs.get() + c * s.n(), s.n(), zw});
      }
      for (uint32_t c = 0; c < 3 * s.parts; ++c) {
        polys.push_back({s.quotient_coeffs.get() + c * s.n(), s.n(), zy});
      }
    }
    ASSIGN_OR_RETURN(const std::vector<Fp3> v, dev_->EvalPolys(polys));
    RETURN_IF_ERROR(dev_->Sync());
    std::vector<TableOod> out(tables_.size());
    size_t i = 0;
    for (size_t t = 0; t < tables_.size(); ++t) {
      const TableState& s = tables_[t];
      for (uint32_t c = 0; c < s.table->num_columns; ++c) {
        out[t].main.push_back(v[i++]);
        out[t].main_next.push_back(v[i++]);
      }
      for (uint32_t k = 0; k < s.aux_columns; ++k) {
        const Fp3 a0 = v[i], a0n = v[i + 1], a1 = v[i + 2], a1n = v[i + 3], a2 = v[i + 4],
                  a2n = v[i + 5];
        i += 6;
        out[t].aux.push_back(Combine(a0, a1, a2));
        out[t].aux_next.push_back(Combine(a0n, a1n, a2n));
      }
      for (uint32_t k = 0; k < s.parts; ++k) {
        out[t].quotient.push_back(Combine(v[i], v[i + 1], v[i + 2]));
        i += 3;
      }
    }
    return out;
  }

  absl::Status BuildDeep(const DeepRound& round) override {
    fri_.Reset(round);
    const int log_m0 = round.log_size[0];
    ASSIGN_OR_RETURN(fri_.layers[0], Buffer::Make(*dev_, mem_, 3ull << log_m0));
    RETURN_IF_ERROR(dev_->Zero(fri_.layers[0].get(), 3ull << log_m0));
    std::vector<kernels::DeepTable> deep;
    for (size_t t = 0; t < tables_.size(); ++t) {
      const TableState& s = tables_[t];
      const DeepTask& task = round.tables[t];
      Buffer& target = fri_.deep_target(task);
      if (target.empty()) {
        ASSIGN_OR_RETURN(target, Buffer::Make(*dev_, mem_, 3 * s.N()));
        RETURN_IF_ERROR(dev_->Zero(target.get(), 3 * s.N()));
      }
      const size_t m = s.table->num_columns, a = s.aux_columns, q = s.parts;
      // The round's constants outlive the kernels: the stream is synchronized below.
      const DeepConstants& dc = task.constants;
      const std::vector<Fp3>& dp = dc.coef;
      const Fp3 &c_z = dc.c_z, &c_zw = dc.c_zw, &shift = dc.shift;
      kernels::DeepTable d;
      d.main = s.main_lde.get();
      d.aux = s.aux_lde.get();
      d.quotient = s.quotient_lde.get();
      d.m = uint32_t(m);
      d.a = uint32_t(a);
      d.q = uint32_t(q);
      d.log_N = s.log_N;
      d.tw = s.domain->fwd;
      ASSIGN_OR_RETURN(void* staged, dev_->Stage(dp.data(), dp.size() * sizeof(Fp3)));
      d.coef = static_cast<const Fp3*>(staged);
      d.c_z = c_z;
      d.c_zw = c_zw;
      d.shift = shift;
      d.inv_z = task.inv_z;
      d.inv_zw = task.inv_zw;
      d.target = target.get();
      deep.push_back(d);
    }
    RETURN_IF_ERROR(dev_->Deep(deep, Fp::FromCanonical(stark::kLdeCosetOffset)));
    ASSIGN_OR_RETURN(fold_twiddles_,
                     Buffer::Make(*dev_, mem_, std::max<uint64_t>(uint64_t{1} << (log_m0 - 1), 1)));
    RETURN_IF_ERROR(dev_->FoldTwiddles(fold_twiddles_.get(), log_m0));
    return dev_->Sync();
  }

  absl::StatusOr<Digest> CommitLayer(const FriLayer& layer) override {
    const size_t i = size_t(layer.index);
    const uint64_t arity = uint64_t{1} << layer.log_arity;
    const uint64_t size = uint64_t{1} << layer.log_size;
    ASSIGN_OR_RETURN(fri_.trees[i], Buffer::Make(*dev_, mem_, 8 * (size / arity)));
    const TreeMatrix groups{fri_.layers[i].get(), uint32_t(3 * arity), size / arity, true, nullptr};
    RETURN_IF_ERROR(dev_->MerkleTree(std::span<const TreeMatrix>(&groups, 1), fri_.trees[i].get()));
    GatherList g;
    g.AddDigest(fri_.trees[i].get(), 1);
    RETURN_IF_ERROR(g.Run(*dev_));
    RETURN_IF_ERROR(dev_->Sync());
    return g.NextDigest();
  }

  absl::Status Fold(const FoldStep& step) override {
    const int log_a = step.layer.log_arity;
    const uint64_t groups = uint64_t{1} << (step.layer.log_size - log_a);
    ASSIGN_OR_RETURN(fri_.fold_output(step), Buffer::Make(*dev_, mem_, 3 * groups));
    Buffer& inject = fri_.entering(step);
    FoldArgs f;
    f.in = fri_.fold_input(step).get();
    f.out = fri_.fold_output(step).get();
    f.inject = inject.empty() ? nullptr : inject.get();
    f.groups = groups;
    f.log_a = log_a;
    for (int r = 0; r < log_a; ++r) f.zetas[r] = step.zetas[r], f.s_invs[r] = step.s_invs[r];
    f.twiddles = reinterpret_cast<const Fp*>(fold_twiddles_.get());
    f.scale = step.scale;
    RETURN_IF_ERROR(dev_->Fold(f));
    RETURN_IF_ERROR(dev_->Sync());
    inject.Release();
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Fp3>> FinalLayer() override {
    const Buffer& last = fri_.layers.back();
    std::vector<uint64_t> raw(last.words());
    RETURN_IF_ERROR(dev_->Download(raw.data(), last.get(), raw.size()));
    std::vector<Fp3> out(raw.size() / 3);
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = Fp3(Fp::FromCanonical(raw[3 * i]), Fp::FromCanonical(raw[3 * i + 1]),
                   Fp::FromCanonical(raw[3 * i + 2]));
    }
    return out;
  }

  absl::StatusOr<QueryOpenings> Open(const OpeningPlan& plan) override {
    // Plan every opening, gather all of it in one transfer, then read it back in the same
    // order.
    QueryOpenings out;
    out.tables.resize(tables_.size());
    out.fri_layers.resize(plan.layers.size());
    GatherList g;
    // What reads each gathered run back, in the order gathered.
    std::vector<std::function<void()>> read;
    auto plan_rows = [&](std::vector<Fp>& o, const Buffer& data, uint64_t cols, uint64_t len,
                         const std::vector<uint64_t>& rows) {
      for (uint64_t r : rows) {
        for (uint64_t c = 0; c < cols; ++c) g.Add(data.get() + c * len + r);
      }
      read.push_back([&g, &o, count = rows.size() * cols] {
        for (uint64_t v = 0; v < count; ++v) o.push_back(g.NextFp());
      });
    };
    auto plan_siblings = [&](std::vector<Digest>& o, const Buffer& tree, uint64_t leaves,
                             const std::vector<uint64_t>& opened) {
      const std::vector<uint64_t> nodes = MultiOpeningSiblings(leaves, opened);
      for (uint64_t node : nodes) g.AddDigest(tree.get(), node);
      read.push_back([&g, &o, count = nodes.size()] {
        for (uint64_t k = 0; k < count; ++k) o.push_back(g.NextDigest());
      });
    };
    for (size_t t = 0; t < tables_.size(); ++t) {
      const TableState& s = tables_[t];
      const std::vector<uint64_t>& rows = plan.table_rows[t];
      plan_rows(out.tables[t].main, s.main_lde, s.table->num_columns, s.N(), rows);
      if (s.aux_columns != 0) {
        plan_rows(out.tables[t].aux, s.aux_lde, 3 * s.aux_columns, s.N(), rows);
      }
      plan_rows(out.tables[t].quotient, s.quotient_lde, 3 * s.parts, s.N(), rows);
    }
    plan_siblings(out.main.siblings, main_tree_.nodes, main_tree_.height, plan.main_leaves);
    if (!aux_tree_.nodes.empty()) {
      plan_siblings(out.aux.siblings, aux_tree_.nodes, aux_tree_.height, plan.aux_leaves);
    }
    plan_siblings(out.quotient.siblings, quotient_tree_.nodes, quotient_tree_.height,
                  plan.main_leaves);
    for (size_t i = 0; i < plan.layers.size(); ++i) {
      const int log_a = plan.layers[i].log_arity;
      const size_t layer = size_t(plan.layers[i].index);
      const std::vector<uint64_t>& groups = plan.layer_groups[i];
      TreeOpening& o = out.fri_layers[i];
      o.indices = groups;
      const uint64_t width = 3ull << log_a;
      for (uint64_t grp : groups) {
        for (uint64_t k = 0; k < width; ++k) g.Add(fri_.layers[layer].get() + grp * width + k);
      }
      read.push_back([&g, &o, count = groups.size() * width] {
        for (uint64_t v = 0; v < count; ++v) o.values.push_back(g.NextFp());
      });
      plan_siblings(o.proof.siblings, fri_.trees[layer],
                    uint64_t{1} << (plan.layers[i].log_size - log_a), groups);
    }
    RETURN_IF_ERROR(g.Run(*dev_));
    RETURN_IF_ERROR(dev_->Sync());
    for (const auto& r : read) r();
    return out;
  }

 private:
  // One round's tree over the tables' matrices that `matrix(table)` gives as (column-major
  // data, columns), tables without columns left out, in table order (docs/PROTOCOL.md
  // section 1). Every matrix but one alone at the tallest height hashes its rows into a
  // buffer of its own, released once the tree's kernels are queued (frees are
  // stream-ordered).
  template <typename MatrixOf>
  absl::Status BuildRoundTree(RoundTree& tree, MatrixOf matrix) {
    std::vector<TreeMatrix> ms;
    uint64_t height = 0;
    for (const TableState& s : tables_) {
      const auto [data, cols] = matrix(s);
      if (cols == 0) continue;
      ms.push_back(TreeMatrix{data, uint32_t(cols), s.N(), false, nullptr});
      height = std::max(height, s.N());
    }
    if (ms.empty()) return absl::OkStatus();
    size_t tallest = 0;
    for (const TreeMatrix& m : ms) tallest += m.rows == height ? 1 : 0;
    std::vector<Buffer> digests;
    for (TreeMatrix& m : ms) {
      if (m.rows == height && tallest == 1) continue;  // hashed straight into the tree
      ASSIGN_OR_RETURN(Buffer b, Buffer::Make(*dev_, mem_, 4 * m.rows));
      m.digests = b.get();
      digests.push_back(std::move(b));
    }
    ASSIGN_OR_RETURN(tree.nodes, Buffer::Make(*dev_, mem_, 8 * height));
    tree.height = height;
    return dev_->MerkleTree(ms, tree.nodes.get());
  }

  // Q of every table at the E = 2^ceil(log parts) n points g <w_E> (the first E positions
  // of its bit-reversed LDE): three planes of E values per table.
  absl::StatusOr<std::vector<Buffer>> EvaluateQuotients(const QuotientRound& round) {
    std::vector<QuotientTable> qs;
    std::vector<Buffer> values(tables_.size());
    const Fp g = Fp::FromCanonical(stark::kLdeCosetOffset);
    for (size_t t = 0; t < tables_.size(); ++t) {
      TableState& s = tables_[t];
      const air::Table& table = *s.table;
      const int log_e = s.log_n + CeilLog2(s.parts);
      const QuotientConstants& qc = round.tables[t];
      const std::vector<Fp3>& gpow = qc.gamma_pows;
      const size_t num_air = qc.num_air;
      const size_t num_logup = gpow.size() - num_air;
      CompiledProgram prog = CompileTableProgram(
          table, QuotientRequest(std::span<const Fp3>(gpow.data(), num_air), s.aux_columns != 0,
                                 round.challenges, spec_.public_inputs));
      uint32_t logup_gamma = 0, logup_mean = 0;
      if (num_logup != 0) {
        logup_gamma = prog.AddExtPool(std::span<const Fp3>(gpow.data() + num_air, num_logup));
        logup_mean = prog.AddExtPool(std::vector<Fp3>{qc.mean});
      }
      QuotientTable q;
      ASSIGN_OR_RETURN(q.prog, StageProgram(prog, s));
      q.prog.logup_gamma = logup_gamma;
      q.prog.logup_mean = logup_mean;
      for (int k = 0; k < 4; ++k) q.prog.acc_reg[k] = prog.acc_reg[k];
      q.main = s.main_lde.get();
      q.aux = s.aux_lde.get();
      q.log_n = s.log_n;
      q.log_N = s.log_N;
      q.log_e = log_e;
      q.tw = s.domain->fwd;
      q.shift = s.domain->shift;
      const uint64_t cosets = uint64_t{1} << (log_e - s.log_n);
      if (cosets > 8) return absl::InternalError("device job: more than 8 quotient cosets");
      for (uint64_t c = 0; c < cosets; ++c) {
        // x^n is constant on the coset of positions [c n, (c + 1) n).
        const uint64_t e = BitRev(c * s.n(), s.log_N);
        const Fp x = g * Fp::RootOfUnity(s.log_N).Pow(e);
        q.zinv[c] = (x.Pow(s.n()) - Fp::One()).Inverse();
      }
      ASSIGN_OR_RETURN(values[t], Buffer::Make(*dev_, mem_, 3ull << log_e));
      q.out = values[t].get();
      qs.push_back(q);
    }
    RETURN_IF_ERROR(dev_->Quotients(qs));
    return values;
  }

  // The values of Q(g y) on <w_E>, bit-reversed -> natural coefficients, per size of E; every
  // coefficient from parts * n on must vanish (a constraint fails otherwise).
  absl::Status QuotientCoefficients(std::vector<Buffer>& values) {
    std::map<int, std::vector<size_t>> by_e;
    for (size_t t = 0; t < tables_.size(); ++t) {
      by_e[tables_[t].log_n + CeilLog2(tables_[t].parts)].push_back(t);
    }
    for (auto& [log_e, members] : by_e) {
      std::vector<uint64_t*> cols;
      for (size_t t : members) {
        for (uint64_t* c : ColumnsOf(values[t], 3, uint64_t{1} << log_e)) cols.push_back(c);
      }
      const DeviceDomain& d = *tables_[members[0]].domain;
      RETURN_IF_ERROR(dev_->BitReverse(cols, log_e, Fp::One()));
      RETURN_IF_ERROR(dev_->Ntt(cols, log_e, d, /*inverse=*/true));
      RETURN_IF_ERROR(dev_->BitReverse(cols, log_e, Fp::FromU64(uint64_t{1} << log_e).Inverse()));
    }
    for (size_t t = 0; t < tables_.size(); ++t) {
      const TableState& s = tables_[t];
      const uint64_t E = values[t].words() / 3, bound = uint64_t{s.parts} * s.n();
      if (bound >= E) continue;
      const std::vector<uint64_t*> cols = ColumnsOf(values[t], 3, E);
      ASSIGN_OR_RETURN(
          const bool zero,
          dev_->AllZero(std::vector<const uint64_t*>(cols.begin(), cols.end()), bound, E));
      if (!zero) {
        return WithFailureKind(absl::InternalError(absl::StrCat("cuda backend: quotient: tables[",
                                                                t, "]: the quotient has degree >= ",
                                                                bound, " (a constraint fails)")),
                               FailureKind::kConstraintsUnsatisfied);
      }
    }
    return absl::OkStatus();
  }

  // Part i of Q: the coefficients of Q(g y) from i n on, times g^-(i n); then the parts'
  // LDE, per height class.
  absl::Status CommitQuotientParts(const std::vector<Buffer>& values) {
    const Fp g = Fp::FromCanonical(stark::kLdeCosetOffset);
    const Fp g_inv = g.Inverse();
    for (auto& [log_n, members] : classes_) {
      std::vector<const uint64_t*> src, coeff_src;
      std::vector<uint64_t*> coeffs, lde;
      std::vector<Fp> scale, ones;
      for (size_t t : members) {
        TableState& s = tables_[t];
        const uint32_t cols = 3 * s.parts;
        const uint64_t E = values[t].words() / 3;
        ASSIGN_OR_RETURN(s.quotient_coeffs, Buffer::Make(*dev_, mem_, uint64_t{cols} * s.n()));
        ASSIGN_OR_RETURN(s.quotient_lde, Buffer::Make(*dev_, mem_, uint64_t{cols} * s.N()));
        const Fp g_inv_n = g_inv.Pow(s.n());
        Fp factor = Fp::One();
        for (uint32_t i = 0; i < s.parts; ++i) {
          for (int c = 0; c < 3; ++c) {
            src.push_back(values[t].get() + c * E + i * s.n());
            coeffs.push_back(s.quotient_coeffs.get() + (3 * i + c) * s.n());
            coeff_src.push_back(coeffs.back());
            lde.push_back(s.quotient_lde.get() + (3 * i + c) * s.N());
            scale.push_back(factor);
            ones.push_back(Fp::One());
          }
          factor *= g_inv_n;
        }
      }
      const TableState& first = tables_[members[0]];
      RETURN_IF_ERROR(dev_->Spread(src, coeffs, scale, log_n, log_n, nullptr));
      RETURN_IF_ERROR(dev_->Spread(coeff_src, lde, ones, log_n, first.log_N, nullptr));
      RETURN_IF_ERROR(dev_->Ntt(lde, first.log_N, *first.domain, /*inverse=*/false));
    }
    return absl::OkStatus();
  }

  // The stop token is checked between operations (by the driver): each is a short sequence
  // of kernels on the device (milliseconds), so a stop takes effect at the next one.

  // Natural-order evaluations on <w_n> -> natural coefficients and the coset LDE
  // (bit-reversed), for columns that all have 2^log_n values.
  absl::Status Lde(std::span<const uint64_t* const> src, std::span<uint64_t* const> coeffs,
                   std::span<uint64_t* const> lde, const DeviceDomain& d) {
    const std::vector<Fp> ones(src.size(), Fp::One());
    RETURN_IF_ERROR(dev_->Spread(src, coeffs, ones, d.log_n, d.log_n, nullptr));
    RETURN_IF_ERROR(dev_->Ntt(coeffs, d.log_n, d, /*inverse=*/true));
    RETURN_IF_ERROR(
        dev_->BitReverse(coeffs, d.log_n, Fp::FromU64(uint64_t{1} << d.log_n).Inverse()));
    std::vector<const uint64_t*> csrc(coeffs.begin(), coeffs.end());
    RETURN_IF_ERROR(dev_->Spread(csrc, lde, ones, d.log_n, d.log_N, d.shift_pows));
    return dev_->Ntt(lde, d.log_N, d, /*inverse=*/false);
  }

  // Copies a compiled program and the table's LogUp layout to the device.
  absl::StatusOr<TableProgram> StageProgram(const CompiledProgram& p, const TableState& s) {
    TableProgram out;
    out.program.num_instrs = uint32_t(p.code.size());
    out.program.num_base_regs = p.num_base_regs;
    out.program.num_ext_regs = p.num_ext_regs;
    ASSIGN_OR_RETURN(void* code,
                     dev_->Stage(p.code.data(), p.code.size() * sizeof(kernels::Instr)));
    ASSIGN_OR_RETURN(void* bp, dev_->Stage(p.base_pool.data(), p.base_pool.size() * sizeof(Fp)));
    ASSIGN_OR_RETURN(void* ep, dev_->Stage(p.ext_pool.data(), p.ext_pool.size() * sizeof(Fp3)));
    out.program.code = static_cast<const kernels::Instr*>(code);
    out.program.base_pool = static_cast<const Fp*>(bp);
    out.program.ext_pool = static_cast<const Fp3*>(ep);
    if (!p.phi_reg.empty()) {
      std::vector<uint32_t> first, second;
      for (const LogUpGroup& grp : s.groups) {
        first.push_back(grp.interactions[0]);
        second.push_back(grp.interactions.size() == 2 ? grp.interactions[1] : kernels::kNone);
      }
      auto stage_u32 = [&](const std::vector<uint32_t>& v) -> absl::StatusOr<const uint32_t*> {
        ASSIGN_OR_RETURN(void* d, dev_->Stage(v.data(), v.size() * sizeof(uint32_t)));
        return static_cast<const uint32_t*>(d);
      };
      out.logup.num_interactions = uint32_t(p.phi_reg.size());
      out.logup.num_groups = uint32_t(s.groups.size());
      ASSIGN_OR_RETURN(out.logup.group_first, stage_u32(first));
      ASSIGN_OR_RETURN(out.logup.group_second, stage_u32(second));
      ASSIGN_OR_RETURN(out.logup.phi_reg, stage_u32(p.phi_reg));
      ASSIGN_OR_RETURN(out.logup.mult_reg, stage_u32(p.mult_reg));
      ASSIGN_OR_RETURN(out.logup.tmp_reg, stage_u32(p.tmp_reg));
    }
    return out;
  }

  std::unique_ptr<Device> dev_;
  const JobSpec spec_;
  MemoryCounter& mem_;  // the driver's
  std::vector<TableState> tables_;
  std::map<int, std::vector<size_t>> classes_;      // log n -> tables
  RoundTree main_tree_, aux_tree_, quotient_tree_;  // aux: none without interactions
  FriBuffers<Buffer, Buffer> fri_;
  Buffer fold_twiddles_;
};

class DeviceBackend final : public Backend {
 public:
  DeviceBackend(std::string name, DeviceFactory factory, uint64_t program_threads)
      : name_(std::move(name)), factory_(std::move(factory)), program_threads_(program_threads) {}
  std::string_view name() const override { return name_; }
  absl::StatusOr<std::unique_ptr<ProvingJob>> StartJob(const JobSpec& spec) override {
    if (spec.air != nullptr && spec.air->max_constraint_degree - 1 > 8) {
      // A limit of this engine, not of the protocol: the CPU engine proves such a job, so
      // the service reruns it there (a bug to have sent it here, not the input's fault).
      return WithFailureKind(
          absl::InvalidArgumentError(name_ + " backend: more than 8 quotient parts"),
          FailureKind::kBug);
    }
    return StartDrivenJob(
        name_, spec, [&](MemoryCounter* mem) -> absl::StatusOr<std::unique_ptr<DataPath>> {
          ASSIGN_OR_RETURN(std::unique_ptr<Device> dev, factory_());
          return std::unique_ptr<DataPath>(new DeviceJob(std::move(dev), spec, mem));
        });
  }
  uint64_t EstimatePeakBytes(const JobSpec& spec) const override {
    return EstimateDeviceJobBytes(spec, program_threads_);
  }

 private:
  std::string name_;
  DeviceFactory factory_;
  uint64_t program_threads_;
};

}  // namespace

uint64_t ProgramScratchBytes(const JobSpec& spec, uint64_t program_threads) {
  // Register counts depend on each table's expressions alone, not on the challenges' values.
  const std::vector<Fp3> challenges(air::kNumChallenges, Fp3::One());
  uint32_t aux_base = 1, aux_ext = 1, q_base = 1, q_ext = 1;  // as the device's launches
  for (const air::Table& table : spec.air->tables) {
    const stark::TableShape shape = stark::ShapeOf(table, spec.air->max_constraint_degree);
    if (shape.aux_columns != 0) {
      const CompiledProgram p =
          CompileTableProgram(table, AuxRequest(challenges, spec.public_inputs));
      aux_base = std::max(aux_base, p.num_base_regs);
      aux_ext = std::max(aux_ext, p.num_ext_regs);
    }
    const std::vector<Fp3> gamma(table.constraints.size(), Fp3::One());
    const CompiledProgram p = CompileTableProgram(
        table, QuotientRequest(gamma, shape.aux_columns != 0, challenges, spec.public_inputs));
    q_base = std::max(q_base, p.num_base_regs);
    q_ext = std::max(q_ext, p.num_ext_regs);
  }
  return 8 * std::max(kernels::ProgramScratchWords(aux_base, aux_ext, program_threads),
                      kernels::ProgramScratchWords(q_base, q_ext, program_threads));
}

uint64_t EstimateDeviceJobBytes(const JobSpec& spec, uint64_t program_threads) {
  // Besides what every engine holds: each table's uploaded trace and the coefficients of
  // its main, aux and quotient columns, and the quotient's E values while round 3 runs.
  const uint64_t held = EstimateJobBytes(spec, [](const TableBytes& b) {
    const uint64_t m = b.table->num_columns, aux = 3 * b.shape.aux_columns,
                   parts = b.shape.quotient_parts;
    return 8 * b.n * (2 * m + 2 * aux + 3 * parts) + 24 * b.n * (uint64_t{1} << CeilLog2(parts));
  });
  // Plus the domains the job leases (one per table height; they count in the device's
  // budget while the job holds them), the program kernels' register scratch and the
  // staged kernel arguments.
  uint64_t domains = 0;
  std::set<int> heights(spec.log_rows.begin(), spec.log_rows.end());
  for (int log_n : heights) domains += DeviceDomainCache::DomainBytes(log_n, spec.log_blowup);
  return held + domains + ProgramScratchBytes(spec, program_threads) + (uint64_t{16} << 20);
}

std::unique_ptr<Backend> MakeDeviceBackend(std::string name, DeviceFactory factory,
                                           uint64_t program_threads) {
  return std::make_unique<DeviceBackend>(std::move(name), std::move(factory), program_threads);
}

}  // namespace prover::backend::cuda
