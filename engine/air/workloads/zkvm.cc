#include "engine/air/workloads/zkvm.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace prover::air {
namespace {

// ---------------------------------------------------------------------------------------
// The machine.
//
// Eight 32-bit registers r0 .. r7 (r0 is never written by the program and stays 0), a
// word-addressed memory of 2^30 words, and these instructions (imm is a 32-bit word):
//   HALT                 pc stays; the padding rows of the CPU table are HALTs
//   ADD/SUB/XOR/AND/OR/MUL/SLTU rd, rs1, rs2     rd = rs1 op rs2 (mod 2^32)
//   ADDI rd, rs1, imm    rd = rs1 + imm          SHLI rd, rs1, imm   rd = rs1 << imm
//   LW rd, imm(rs1)      rd = mem[rs1 + imm]     SW rs2, imm(rs1)    mem[rs1 + imm] = rs2
//   BNE rs1, rs2, imm    pc = imm if rs1 != rs2  OUT rs1, imm        output[imm] = rs1
// ---------------------------------------------------------------------------------------

enum Opcode : uint32_t {
  kHalt = 0,
  kAdd,
  kSub,
  kXor,
  kAnd,
  kOr,
  kMul,
  kSltu,
  kAddi,
  kShli,
  kLw,
  kSw,
  kBne,
  kOut,
  kNumOpcodes,
};

constexpr const char* kOpcodeNames[kNumOpcodes] = {"halt", "add", "sub",  "xor",  "and",
                                                   "or",   "mul", "sltu", "addi", "shli",
                                                   "lw",   "sw",  "bne",  "out"};

// Operation codes on the ALU bus (0: the opcode sends nothing there).
enum AluOp : uint32_t {
  kAluAdd = 1,
  kAluSub = 2,
  kAluXor = 3,
  kAluAnd = 4,
  kAluOr = 5,
  kAluMul = 6,
  kAluShl = 7,
  kAluSltu = 8,
};

constexpr uint32_t kAluOpOf[kNumOpcodes] = {
    0, kAluAdd, kAluSub, kAluXor, kAluAnd, kAluOr, kAluMul, kAluSltu, kAluAdd, kAluShl, 0, 0, 0, 0};

constexpr bool WritesRd(uint32_t op) { return (op >= kAdd && op <= kShli) || op == kLw; }
constexpr bool UsesImm(uint32_t op) { return op == kAddi || op == kShli; }

constexpr int kNumRegisters = 8;
constexpr uint64_t kLimb = uint64_t{1} << 16;
constexpr uint64_t kWord = uint64_t{1} << 32;

// Base of the polynomial fingerprints of the program ROM and of the outputs.
constexpr uint64_t kFingerprintBase = 0x9e3779b97f4a7c15ull;  // < p
// The mixing routine's multiplier.
constexpr uint32_t kMixMultiplier = 0x9e3779b1u;
constexpr uint32_t kShiftAmount = 7;
constexpr uint32_t kDataBase = 16;  // the Fibonacci values are stored from address 16 on

// Public inputs.
enum PublicInput : uint32_t {
  kPubA0 = 0,
  kPubA1,
  kPubIterations,
  kPubResult,
  kPubCycles,
  kPubProgramHash,
  kPubOutputDigest,
};

// Heights of the tables that do not scale with k.
constexpr int kLogRange16 = 16, kLogNibble = 8, kLogU8 = 8, kLogU14 = 14, kLogPow2 = 8;
constexpr int kLogMul = 11, kLogShift = 10, kLogLt = 9, kLogIo = 8;
// Mid tables as a fraction of the CPU table.
constexpr int kProgramShift = 3, kMemoryShift = 1, kAluShift = 1, kBitwiseShift = 2;

// ---------------------------------------------------------------------------------------
// Column layouts.
// ---------------------------------------------------------------------------------------

namespace cpu {
constexpr uint32_t kClk = 0, kPc = 1, kNextPc = 2, kOpcode = 3, kRd = 4, kRs1 = 5, kRs2 = 6;
constexpr uint32_t kImmLo = 7, kImmHi = 8;
constexpr uint32_t kFlag0 = 9;                           // one-hot opcode flags
constexpr uint32_t kReg0 = kFlag0 + kNumOpcodes;         // r_i: lo at 2i, hi at 2i + 1
constexpr uint32_t kRdSel0 = kReg0 + 2 * kNumRegisters;  // one-hot rd
constexpr uint32_t kRs1Sel0 = kRdSel0 + kNumRegisters;   // one-hot rs1
constexpr uint32_t kRs2Sel0 = kRs1Sel0 + kNumRegisters;  // one-hot rs2
constexpr uint32_t kALo = kRs2Sel0 + kNumRegisters;      // a, b, c limbs: lo, hi each
constexpr uint32_t kBLo = kALo + 2, kCLo = kALo + 4;
constexpr uint32_t kAddrLo = kALo + 6, kAddrHi = kAddrLo + 1;
constexpr uint32_t kDiffInv = kAddrHi + 1, kNeq = kDiffInv + 1, kSteps = kNeq + 1;
constexpr uint32_t kFirstHalt = kSteps + 1;  // 1 on the first HALT row only
constexpr uint32_t kNumColumns = kFirstHalt + 1;
static_assert(kNumColumns == 75);
}  // namespace cpu

namespace program {
constexpr uint32_t kPc = 0, kOpcode = 1, kRd = 2, kRs1 = 3, kRs2 = 4, kImmLo = 5, kImmHi = 6;
constexpr uint32_t kMult = 7, kHash = 8, kNumColumns = 9;
}  // namespace program

namespace memory {
constexpr uint32_t kAddr = 0, kClk = 1, kValue = 2, kIsWrite = 3, kIsReal = 4, kFirst = 5;
constexpr uint32_t kDeltaLo = 6, kDeltaHi = 7, kNumColumns = 8;
}  // namespace memory

namespace alu {
constexpr uint32_t kIsAdd = 0, kIsSub = 1, kALo = 2, kBLo = 4, kCLo = 6, kCarry0 = 8, kCarry1 = 9,
                   kNumColumns = 10;
}  // namespace alu

namespace bitwise {
constexpr uint32_t kIsXor = 0, kIsAnd = 1, kIsOr = 2, kA0 = 3, kB0 = 11, kC0 = 19, kNumColumns = 27;
}  // namespace bitwise

namespace mul {
constexpr uint32_t kALo = 0, kBLo = 2, kCLo = 4, kK0 = 6, kK1Lo = 7, kK1Hi = 8, kIsReal = 9,
                   kNumColumns = 10;
}  // namespace mul

namespace shift {
constexpr uint32_t kA = 0, kAmount = 1, kPower = 2, kC = 3, kIsReal = 4, kNumColumns = 5;
}  // namespace shift

namespace lt {
constexpr uint32_t kA = 0, kB = 1, kC = 2, kDiffLo = 3, kDiffHi = 4, kIsReal = 5, kNumColumns = 6;
}  // namespace lt

namespace io {
constexpr uint32_t kIndex = 0, kValue = 1, kMult = 2, kDigest = 3, kNumColumns = 4;
}  // namespace io

// ---------------------------------------------------------------------------------------
// A small builder over Table: cached column nodes, arithmetic, constraints, bus helpers.
// ---------------------------------------------------------------------------------------

class TableBuilder {
 public:
  TableBuilder(std::string name, std::vector<std::string> columns, int fixed_log_rows = -1) {
    t_.name = std::move(name);
    t_.num_columns = static_cast<uint32_t>(columns.size());
    t_.column_names = std::move(columns);
    t_.fixed_log_rows = fixed_log_rows;
    cur_.assign(t_.num_columns, kNone);
    next_.assign(t_.num_columns, kNone);
  }

  uint32_t Col(uint32_t c) { return Cached(cur_, c, 0); }
  uint32_t Next(uint32_t c) { return Cached(next_, c, 1); }
  uint32_t Const(uint64_t v) {
    auto [it, inserted] = consts_.try_emplace(v, 0);
    if (inserted) it->second = t_.Add(Expr::Constant(Fp::FromU64(v)));
    return it->second;
  }
  uint32_t One() { return Const(1); }
  uint32_t Pub(uint32_t i) { return t_.Add(Expr::PublicInput(i)); }
  uint32_t Add(uint32_t a, uint32_t b) { return t_.Add(Expr::Binary(ExprOp::kAdd, a, b)); }
  uint32_t Sub(uint32_t a, uint32_t b) { return t_.Add(Expr::Binary(ExprOp::kSub, a, b)); }
  uint32_t Mul(uint32_t a, uint32_t b) { return t_.Add(Expr::Binary(ExprOp::kMul, a, b)); }
  uint32_t Neg(uint32_t a) { return t_.Add(Expr::Neg(a)); }
  uint32_t Scale(uint64_t k, uint32_t a) { return Mul(Const(k), a); }
  uint32_t OneMinus(uint32_t a) { return Sub(One(), a); }
  uint32_t Sum(std::span<const uint32_t> xs) {
    uint32_t s = xs[0];
    for (size_t i = 1; i < xs.size(); ++i) s = Add(s, xs[i]);
    return s;
  }
  // sum_i coeffs[i] * xs[i], skipping zero coefficients (at least one must be non-zero).
  uint32_t Linear(std::span<const uint64_t> coeffs, std::span<const uint32_t> xs) {
    std::vector<uint32_t> terms;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (coeffs[i] == 1) terms.push_back(xs[i]);
      if (coeffs[i] > 1) terms.push_back(Scale(coeffs[i], xs[i]));
    }
    return Sum(terms);
  }
  // lo + 2^16 hi: a 32-bit word from two 16-bit limbs.
  uint32_t Word(uint32_t lo, uint32_t hi) { return Add(lo, Scale(kLimb, hi)); }

  void EveryRow(uint32_t e, std::string name) { Constrain(ConstraintKind::kEveryRow, e, name); }
  void Transition(uint32_t e, std::string name) { Constrain(ConstraintKind::kTransition, e, name); }
  void FirstRow(uint32_t e, std::string name) { Constrain(ConstraintKind::kFirstRow, e, name); }
  void LastRow(uint32_t e, std::string name) { Constrain(ConstraintKind::kLastRow, e, name); }
  // x * (x - 1) = 0.
  void Boolean(uint32_t x, const std::string& name) {
    EveryRow(Mul(x, Sub(x, One())), name + "_bool");
  }

  void Send(ZkvmBus bus, std::vector<uint32_t> values, uint32_t multiplicity) {
    t_.interactions.push_back({bus, std::move(values), multiplicity});
  }
  void Receive(ZkvmBus bus, std::vector<uint32_t> values, uint32_t count) {
    t_.interactions.push_back({bus, std::move(values), Neg(count)});
  }

  Table Finish() { return std::move(t_); }

 private:
  static constexpr uint32_t kNone = ~uint32_t{0};

  uint32_t Cached(std::vector<uint32_t>& cache, uint32_t c, uint32_t offset) {
    if (cache[c] == kNone) cache[c] = t_.Add(Expr::Column(c, offset));
    return cache[c];
  }
  void Constrain(ConstraintKind kind, uint32_t e, const std::string& name) {
    t_.constraints.push_back({kind, e, name});
  }

  Table t_;
  std::vector<uint32_t> cur_, next_;
  std::map<uint64_t, uint32_t> consts_;
};

std::vector<std::string> Names(std::initializer_list<const char*> names) {
  return std::vector<std::string>(names.begin(), names.end());
}

// ---------------------------------------------------------------------------------------
// The tables.
// ---------------------------------------------------------------------------------------

// One instruction per row. The opcode and the register fields are decoded into one-hot
// columns; a, b, c are the operands and the result as 16-bit limbs. Everything the row
// does not compute itself is a bus lookup: the instruction (program), the result of an
// arithmetic or bitwise operation (ALU bus), the loaded or stored word (memory), the
// limbs of results and addresses (range16, u14), outputs (io).
Table CpuTable() {
  std::vector<std::string> names = {"clk", "pc",  "next_pc", "opcode", "rd",
                                    "rs1", "rs2", "imm_lo",  "imm_hi"};
  for (const char* op : kOpcodeNames) names.push_back(absl::StrCat("is_", op));
  for (int i = 0; i < kNumRegisters; ++i) {
    names.push_back(absl::StrCat("r", i, "_lo"));
    names.push_back(absl::StrCat("r", i, "_hi"));
  }
  for (const char* sel : {"rd_sel", "rs1_sel", "rs2_sel"}) {
    for (int i = 0; i < kNumRegisters; ++i) names.push_back(absl::StrCat(sel, i));
  }
  for (const char* n : {"a_lo", "a_hi", "b_lo", "b_hi", "c_lo", "c_hi", "addr_lo", "addr_hi",
                        "diff_inv", "neq", "steps", "first_halt"}) {
    names.push_back(n);
  }
  TableBuilder t("cpu", std::move(names));
  using namespace cpu;
  const uint32_t one = t.One();

  // Decode: exactly one opcode flag is set, and it names the opcode.
  std::vector<uint32_t> f(kNumOpcodes);
  std::vector<uint64_t> codes(kNumOpcodes), alu_codes(kNumOpcodes);
  for (uint32_t o = 0; o < kNumOpcodes; ++o) {
    f[o] = t.Col(kFlag0 + o);
    codes[o] = o;
    alu_codes[o] = kAluOpOf[o];
    t.Boolean(f[o], absl::StrCat("is_", kOpcodeNames[o]));
  }
  t.EveryRow(t.Sub(t.Sum(f), one), "one_opcode");
  t.EveryRow(t.Sub(t.Linear(codes, f), t.Col(kOpcode)), "opcode_decode");

  // Register fields: one-hot selectors that name rd, rs1, rs2.
  std::vector<uint64_t> index(kNumRegisters);
  for (int i = 0; i < kNumRegisters; ++i) index[i] = i;
  auto selectors = [&](uint32_t first, uint32_t field, const char* name) {
    std::vector<uint32_t> s(kNumRegisters);
    for (int i = 0; i < kNumRegisters; ++i) {
      s[i] = t.Col(first + i);
      t.Boolean(s[i], absl::StrCat(name, "_sel", i));
    }
    t.EveryRow(t.Sub(t.Sum(s), one), absl::StrCat(name, "_one_hot"));
    // Selector 0 has weight 0, so the sum starts at selector 1.
    t.EveryRow(t.Sub(t.Linear(std::span(index).subspan(1), std::span(s).subspan(1)), t.Col(field)),
               absl::StrCat(name, "_decode"));
    return s;
  };
  const std::vector<uint32_t> rd_sel = selectors(kRdSel0, kRd, "rd");
  const std::vector<uint32_t> rs1_sel = selectors(kRs1Sel0, kRs1, "rs1");
  const std::vector<uint32_t> rs2_sel = selectors(kRs2Sel0, kRs2, "rs2");

  // Derived flags, each linear in the opcode flags.
  auto sum_of = [&](std::initializer_list<uint32_t> ops) {
    std::vector<uint32_t> xs;
    for (uint32_t o : ops) xs.push_back(f[o]);
    return t.Sum(xs);
  };
  const uint32_t writes = sum_of({kAdd, kSub, kXor, kAnd, kOr, kMul, kSltu, kAddi, kShli, kLw});
  const uint32_t uses_imm = sum_of({kAddi, kShli});
  const uint32_t is_mem = sum_of({kLw, kSw});
  const uint32_t is_alu = sum_of({kAdd, kSub, kXor, kAnd, kOr, kMul, kSltu, kAddi, kShli});
  const uint32_t quiet = sum_of({kHalt, kBne, kOut});  // no result
  const uint32_t alu_op = t.Linear(alu_codes, f);

  // Operands, limb by limb: a = r[rs1]; b = imm for ADDI / SHLI, else r[rs2] (degree 3:
  // (1 - uses_imm) * sel * r); c = b for SW; c = 0 where nothing is computed.
  const uint32_t not_imm = t.OneMinus(uses_imm);
  for (uint32_t limb = 0; limb < 2; ++limb) {
    const char* ln = limb == 0 ? "lo" : "hi";
    std::vector<uint32_t> rs1v(kNumRegisters), rs2v(kNumRegisters);
    for (int i = 0; i < kNumRegisters; ++i) {
      const uint32_t r = t.Col(kReg0 + 2 * i + limb);
      rs1v[i] = t.Mul(rs1_sel[i], r);
      rs2v[i] = t.Mul(rs2_sel[i], r);
    }
    const uint32_t a = t.Col(kALo + limb), b = t.Col(kBLo + limb), c = t.Col(kCLo + limb);
    const uint32_t imm = t.Col(kImmLo + limb);
    t.EveryRow(t.Sub(a, t.Sum(rs1v)), absl::StrCat("a_", ln));
    t.EveryRow(t.Sub(t.Sub(b, t.Mul(uses_imm, imm)), t.Mul(not_imm, t.Sum(rs2v))),
               absl::StrCat("b_", ln));
    t.EveryRow(t.Mul(f[kSw], t.Sub(c, b)), absl::StrCat("store_value_", ln));
    t.EveryRow(t.Mul(quiet, c), absl::StrCat("no_result_", ln));
  }
  const uint32_t a = t.Word(t.Col(kALo), t.Col(kALo + 1));
  const uint32_t b = t.Word(t.Col(kBLo), t.Col(kBLo + 1));
  const uint32_t c = t.Word(t.Col(kCLo), t.Col(kCLo + 1));
  const uint32_t imm = t.Word(t.Col(kImmLo), t.Col(kImmHi));
  const uint32_t addr = t.Word(t.Col(kAddrLo), t.Col(kAddrHi));
  t.EveryRow(t.Sub(addr, t.Mul(is_mem, t.Add(a, imm))), "address");

  // BNE: neq = [a != b] through the inverse of a - b; both constraints are degree 3.
  const uint32_t f_bne = f[kBne], neq = t.Col(kNeq), inv = t.Col(kDiffInv);
  const uint32_t bne_diff = t.Mul(f_bne, t.Sub(a, b));
  t.EveryRow(t.Sub(neq, t.Mul(bne_diff, inv)), "neq");
  t.EveryRow(t.Mul(bne_diff, t.OneMinus(neq)), "neq_when_different");
  t.EveryRow(t.Mul(t.OneMinus(f_bne), inv), "inv_unused");

  // Control flow: next_pc = pc + 1, except pc on HALT and imm on a taken BNE.
  const uint32_t pc = t.Col(kPc), pc1 = t.Add(pc, one);
  const uint32_t jump = t.Mul(t.Mul(f_bne, neq), t.Sub(imm, pc1));
  t.EveryRow(t.Sub(t.Col(kNextPc), t.Add(t.Sub(pc1, f[kHalt]), jump)), "next_pc");
  t.Transition(t.Sub(t.Next(kPc), t.Col(kNextPc)), "pc_next");
  t.Transition(t.Sub(t.Next(kClk), t.Add(t.Col(kClk), one)), "clk_next");
  t.Transition(t.Sub(t.Next(kSteps), t.Add(t.Col(kSteps), t.OneMinus(f[kHalt]))), "steps_next");

  // first_halt marks the first HALT row: the HALT is fetched there once, and the padding
  // rows after it touch no bus. It is set on a HALT row that row 0 is or that follows a
  // non-HALT row, and nowhere else.
  const uint32_t first_halt = t.Col(kFirstHalt);
  t.Boolean(first_halt, "first_halt");
  t.EveryRow(t.Mul(first_halt, t.OneMinus(f[kHalt])), "first_halt_halts");
  t.Transition(
      t.Mul(t.Mul(t.Next(kFlag0 + kHalt), t.OneMinus(f[kHalt])), t.OneMinus(t.Next(kFirstHalt))),
      "first_halt_set");
  t.Transition(t.Mul(f[kHalt], t.Next(kFirstHalt)), "first_halt_once");
  t.FirstRow(t.Sub(first_halt, f[kHalt]), "first_halt_first");
  const uint32_t fetch = t.Add(t.OneMinus(f[kHalt]), first_halt);

  // Register file: r_i' = r_i + writes * [rd = i] * (c - r_i), degree 3, per limb.
  for (int i = 0; i < kNumRegisters; ++i) {
    const uint32_t w = t.Mul(writes, rd_sel[i]);
    for (uint32_t limb = 0; limb < 2; ++limb) {
      const uint32_t col = kReg0 + 2 * i + limb, r = t.Col(col);
      const uint32_t update = t.Mul(w, t.Sub(t.Col(kCLo + limb), r));
      t.Transition(t.Sub(t.Next(col), t.Add(r, update)),
                   absl::StrCat("r", i, limb == 0 ? "_lo" : "_hi", "_next"));
    }
  }

  // Boundaries: the machine starts at pc 0 with r1 = a0, r2 = a1, r3 = iterations and the
  // other registers 0; it has halted by the last row, with r2 = result.
  t.FirstRow(t.Col(kClk), "clk_first");
  t.FirstRow(pc, "pc_first");
  t.FirstRow(t.Col(kSteps), "steps_first");
  constexpr int kZero = -1;
  const int initial[kNumRegisters] = {kZero, kPubA0, kPubA1, kPubIterations,
                                      kZero, kZero,  kZero,  kZero};
  for (int i = 0; i < kNumRegisters; ++i) {
    const uint32_t lo = t.Col(kReg0 + 2 * i), hi = t.Col(kReg0 + 2 * i + 1);
    if (initial[i] == kZero) {
      t.FirstRow(lo, absl::StrCat("r", i, "_lo_first"));
      t.FirstRow(hi, absl::StrCat("r", i, "_hi_first"));
    } else {
      t.FirstRow(t.Sub(t.Word(lo, hi), t.Pub(initial[i])), absl::StrCat("r", i, "_first"));
    }
  }
  t.LastRow(t.Sub(f[kHalt], one), "halted");
  t.LastRow(t.Sub(t.Col(kSteps), t.Pub(kPubCycles)), "cycles");
  t.LastRow(t.Sub(t.Word(t.Col(kReg0 + 4), t.Col(kReg0 + 5)), t.Pub(kPubResult)), "result");

  // Buses.
  t.Send(kZkvmProgramBus,
         {pc, t.Col(kOpcode), t.Col(kRd), t.Col(kRs1), t.Col(kRs2), t.Col(kImmLo), t.Col(kImmHi)},
         fetch);
  t.Send(kZkvmAluBus, {alu_op, a, b, c}, is_alu);
  t.Send(kZkvmMemoryBus, {addr, t.Col(kClk), c, f[kSw]}, is_mem);
  t.Send(kZkvmRange16Bus, {t.Col(kAddrLo)}, is_mem);
  t.Send(kZkvmU14Bus, {t.Col(kAddrHi)}, is_mem);
  t.Send(kZkvmRange16Bus, {t.Col(kCLo)}, writes);
  t.Send(kZkvmRange16Bus, {t.Col(kCLo + 1)}, writes);
  t.Send(kZkvmIoBus, {imm, a}, f[kOut]);
  return t.Finish();
}

// The program ROM: row i holds the instruction at pc = i and counts its fetches. The rows
// are fingerprinted, hash' = base * hash + encode(row'), and the last value is public.
Table ProgramTable() {
  using namespace program;
  TableBuilder t("program",
                 Names({"pc", "opcode", "rd", "rs1", "rs2", "imm_lo", "imm_hi", "mult", "hash"}));
  auto encode = [&](bool next) {
    auto col = [&](uint32_t c) { return next ? t.Next(c) : t.Col(c); };
    // opcode + 2^8 rd + 2^12 rs1 + 2^16 rs2 + 2^20 imm_lo + 2^36 imm_hi: injective on
    // opcodes < 2^8, registers < 2^4 and 16-bit immediate limbs, and below p.
    const std::vector<uint64_t> weights = {1,     uint64_t{1} << 8,  uint64_t{1} << 12,
                                           kLimb, uint64_t{1} << 20, uint64_t{1} << 36};
    const std::vector<uint32_t> xs = {col(kOpcode), col(kRd),    col(kRs1),
                                      col(kRs2),    col(kImmLo), col(kImmHi)};
    return t.Linear(weights, xs);
  };
  t.FirstRow(t.Col(kPc), "pc_first");
  t.Transition(t.Sub(t.Next(kPc), t.Add(t.Col(kPc), t.One())), "pc_next");
  t.FirstRow(t.Sub(t.Col(kHash), encode(false)), "hash_first");
  t.Transition(t.Sub(t.Next(kHash), t.Add(t.Scale(kFingerprintBase, t.Col(kHash)), encode(true))),
               "hash_next");
  t.LastRow(t.Sub(t.Col(kHash), t.Pub(kPubProgramHash)), "program_hash");
  t.Receive(kZkvmProgramBus,
            {t.Col(kPc), t.Col(kOpcode), t.Col(kRd), t.Col(kRs1), t.Col(kRs2), t.Col(kImmLo),
             t.Col(kImmHi)},
            t.Col(kMult));
  return t.Finish();
}

// Every memory access, sorted by (address, clock), real rows first. `first` marks the
// first access to an address, which must be a write; a read sees the previous value at
// its address. Sortedness: the gap to the next row (address - 1 when it starts a new
// address, clock - 1 otherwise) splits into a 16-bit and a 14-bit limb, so it is a
// non-negative number below 2^30 < p / 2.
Table MemoryTable() {
  using namespace memory;
  TableBuilder t("memory", Names({"addr", "clk", "value", "is_write", "is_real", "first",
                                  "delta_lo", "delta_hi"}));
  const uint32_t is_write = t.Col(kIsWrite), is_real = t.Col(kIsReal), first = t.Col(kFirst);
  t.Boolean(is_write, "is_write");
  t.Boolean(is_real, "is_real");
  t.Boolean(first, "first");
  t.FirstRow(t.Sub(first, t.One()), "first_first");
  t.EveryRow(t.Mul(first, t.OneMinus(is_write)), "first_access_writes");
  t.Transition(t.Mul(t.Next(kIsReal), t.OneMinus(is_real)), "real_rows_first");
  const uint32_t not_first_next = t.OneMinus(t.Next(kFirst));
  const uint32_t addr_step = t.Sub(t.Next(kAddr), t.Col(kAddr));
  t.Transition(t.Mul(not_first_next, addr_step), "same_address");
  t.Transition(t.Mul(t.Mul(not_first_next, t.OneMinus(t.Next(kIsWrite))),
                     t.Sub(t.Next(kValue), t.Col(kValue))),
               "read_sees_last_value");
  const uint32_t clk_gap = t.Sub(t.Sub(t.Next(kClk), t.Col(kClk)), t.One());
  const uint32_t addr_gap = t.Sub(addr_step, t.One());
  const uint32_t gap = t.Add(t.Mul(t.Next(kFirst), addr_gap), t.Mul(not_first_next, clk_gap));
  t.Transition(t.Mul(t.Next(kIsReal), t.Sub(t.Word(t.Col(kDeltaLo), t.Col(kDeltaHi)), gap)),
               "sorted");
  t.Receive(kZkvmMemoryBus, {t.Col(kAddr), t.Col(kClk), t.Col(kValue), is_write}, is_real);
  t.Send(kZkvmRange16Bus, {t.Col(kDeltaLo)}, is_real);
  t.Send(kZkvmU14Bus, {t.Col(kDeltaHi)}, is_real);
  return t.Finish();
}

// 32-bit ADD (a + b = c + 2^32 carry) and SUB (c + b = a + 2^32 borrow) on 16-bit limbs
// with boolean carries; every limb is range-checked, so the result is the 32-bit word.
Table AluTable() {
  using namespace alu;
  TableBuilder t("alu", Names({"is_add", "is_sub", "a_lo", "a_hi", "b_lo", "b_hi", "c_lo", "c_hi",
                               "carry0", "carry1"}));
  const uint32_t is_add = t.Col(kIsAdd), is_sub = t.Col(kIsSub);
  t.Boolean(is_add, "is_add");
  t.Boolean(is_sub, "is_sub");
  t.EveryRow(t.Mul(is_add, is_sub), "one_op");
  t.Boolean(t.Col(kCarry0), "carry0");
  t.Boolean(t.Col(kCarry1), "carry1");
  auto col = [&](uint32_t base, uint32_t limb) { return t.Col(base + limb); };
  const uint32_t carry0 = t.Col(kCarry0), carry1 = t.Col(kCarry1);
  // Per limb: x_lo + y_lo = z_lo + 2^16 carry0; x_hi + y_hi + carry0 = z_hi + 2^16 carry1.
  auto adds = [&](uint32_t x, uint32_t y, uint32_t z, uint32_t flag, const char* name) {
    const uint32_t lo =
        t.Sub(t.Add(col(x, 0), col(y, 0)), t.Add(col(z, 0), t.Scale(kLimb, carry0)));
    const uint32_t hi =
        t.Sub(t.Add(t.Add(col(x, 1), col(y, 1)), carry0), t.Add(col(z, 1), t.Scale(kLimb, carry1)));
    t.EveryRow(t.Mul(flag, lo), absl::StrCat(name, "_lo"));
    t.EveryRow(t.Mul(flag, hi), absl::StrCat(name, "_hi"));
  };
  adds(kALo, kBLo, kCLo, is_add, "add");
  adds(kCLo, kBLo, kALo, is_sub, "sub");
  const uint32_t active = t.Add(is_add, is_sub);
  const uint32_t op = t.Add(is_add, t.Scale(kAluSub, is_sub));  // kAluAdd = 1
  t.Receive(kZkvmAluBus,
            {op, t.Word(col(kALo, 0), col(kALo, 1)), t.Word(col(kBLo, 0), col(kBLo, 1)),
             t.Word(col(kCLo, 0), col(kCLo, 1))},
            active);
  for (uint32_t c = kALo; c < kCarry0; ++c) t.Send(kZkvmRange16Bus, {t.Col(c)}, active);
  return t.Finish();
}

// XOR / AND / OR: the words are sums of eight nibbles, and each nibble triple is looked up
// in the operation's 2^8-row table (which also range-checks the nibbles).
Table BitwiseTable() {
  using namespace bitwise;
  std::vector<std::string> names = {"is_xor", "is_and", "is_or"};
  for (const char* n : {"a", "b", "c"}) {
    for (int i = 0; i < 8; ++i) names.push_back(absl::StrCat(n, i));
  }
  TableBuilder t("bitwise", std::move(names));
  const std::vector<uint32_t> flags = {t.Col(kIsXor), t.Col(kIsAnd), t.Col(kIsOr)};
  t.Boolean(flags[0], "is_xor");
  t.Boolean(flags[1], "is_and");
  t.Boolean(flags[2], "is_or");
  const uint32_t active = t.Sum(flags);
  t.Boolean(active, "one_op");
  const std::vector<uint64_t> codes = {kAluXor, kAluAnd, kAluOr};
  const uint32_t op = t.Linear(codes, flags);
  std::vector<uint64_t> weights(8);
  for (int i = 0; i < 8; ++i) weights[i] = uint64_t{1} << (4 * i);
  auto word = [&](uint32_t base) {
    std::vector<uint32_t> xs(8);
    for (int i = 0; i < 8; ++i) xs[i] = t.Col(base + i);
    return t.Linear(weights, xs);
  };
  t.Receive(kZkvmAluBus, {op, word(kA0), word(kB0), word(kC0)}, active);
  for (uint32_t i = 0; i < 8; ++i) {
    t.Send(kZkvmNibbleBus, {op, t.Col(kA0 + i), t.Col(kB0 + i), t.Col(kC0 + i)}, active);
  }
  return t.Finish();
}

// value runs 0, 1, ..., 2^bits - 1 (the height is fixed), mult counts the lookups.
Table RangeTable(const char* name, int bits, ZkvmBus bus) {
  TableBuilder t(name, Names({"value", "mult"}), bits);
  t.FirstRow(t.Col(0), "value_first");
  t.Transition(t.Sub(t.Next(0), t.Add(t.Col(0), t.One())), "value_next");
  t.Receive(bus, {t.Col(0)}, t.Col(1));
  return t.Finish();
}

// All 256 nibble pairs (a, b) = (row >> 4, row & 15) from eight bits, with a op b.
Table NibbleTable(const char* name, AluOp op) {
  TableBuilder t(name, Names({"a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3", "mult"}), kLogNibble);
  std::vector<uint32_t> a(4), b(4), c(4);
  for (uint32_t i = 0; i < 4; ++i) {
    a[i] = t.Col(i);
    b[i] = t.Col(4 + i);
    t.Boolean(a[i], absl::StrCat("a", i));
    t.Boolean(b[i], absl::StrCat("b", i));
    const uint32_t ab = t.Mul(a[i], b[i]);
    switch (op) {
      case kAluXor:  // a + b - 2ab
        c[i] = t.Sub(t.Add(a[i], b[i]), t.Scale(2, ab));
        break;
      case kAluAnd:
        c[i] = ab;
        break;
      default:  // OR: a + b - ab
        c[i] = t.Sub(t.Add(a[i], b[i]), ab);
        break;
    }
  }
  const std::vector<uint64_t> w = {1, 2, 4, 8};
  const uint32_t av = t.Linear(w, a), bv = t.Linear(w, b), cv = t.Linear(w, c);
  const uint32_t row = t.Add(t.Scale(16, av), bv);
  std::vector<uint32_t> a_next(4), b_next(4);
  for (uint32_t i = 0; i < 4; ++i) {
    a_next[i] = t.Next(i);
    b_next[i] = t.Next(4 + i);
  }
  const uint32_t row_next = t.Add(t.Scale(16, t.Linear(w, a_next)), t.Linear(w, b_next));
  t.FirstRow(row, "row_first");
  t.Transition(t.Sub(row_next, t.Add(row, t.One())), "row_next");
  t.Receive(kZkvmNibbleBus, {t.Const(op), av, bv, cv}, t.Col(8));
  return t.Finish();
}

// (i, 2^i) for i = 0 .. 255.
Table Pow2Table() {
  TableBuilder t("pow2", Names({"exponent", "power", "mult"}), kLogPow2);
  t.FirstRow(t.Col(0), "exponent_first");
  t.FirstRow(t.Sub(t.Col(1), t.One()), "power_first");
  t.Transition(t.Sub(t.Next(0), t.Add(t.Col(0), t.One())), "exponent_next");
  t.Transition(t.Sub(t.Next(1), t.Scale(2, t.Col(1))), "power_next");
  t.Receive(kZkvmPow2Bus, {t.Col(0), t.Col(1)}, t.Col(2));
  return t.Finish();
}

// c = a * b mod 2^32 on 16-bit limbs: a_lo b_lo = c_lo + 2^16 k0 and
// a_lo b_hi + a_hi b_lo + k0 = c_hi + 2^16 k1 with k1 = k1_lo + 2^16 k1_hi; the limbs are
// range-checked (k1 < 2^17), so neither side reaches p and the equations hold over Z.
Table MulTable() {
  using namespace mul;
  TableBuilder t("mul", Names({"a_lo", "a_hi", "b_lo", "b_hi", "c_lo", "c_hi", "k0", "k1_lo",
                               "k1_hi", "is_real"}));
  const uint32_t is_real = t.Col(kIsReal);
  t.Boolean(is_real, "is_real");
  auto col = [&](uint32_t base, uint32_t limb) { return t.Col(base + limb); };
  t.EveryRow(
      t.Sub(t.Mul(col(kALo, 0), col(kBLo, 0)), t.Add(col(kCLo, 0), t.Scale(kLimb, t.Col(kK0)))),
      "product_lo");
  const uint32_t cross = t.Add(
      t.Add(t.Mul(col(kALo, 0), col(kBLo, 1)), t.Mul(col(kALo, 1), col(kBLo, 0))), t.Col(kK0));
  const uint32_t k1 = t.Word(t.Col(kK1Lo), t.Col(kK1Hi));
  t.EveryRow(t.Sub(cross, t.Add(col(kCLo, 1), t.Scale(kLimb, k1))), "product_hi");
  t.Receive(kZkvmAluBus,
            {t.Const(kAluMul), t.Word(col(kALo, 0), col(kALo, 1)),
             t.Word(col(kBLo, 0), col(kBLo, 1)), t.Word(col(kCLo, 0), col(kCLo, 1))},
            is_real);
  for (uint32_t c = kALo; c <= kK1Lo; ++c) t.Send(kZkvmRange16Bus, {t.Col(c)}, is_real);
  t.Send(kZkvmU8Bus, {t.Col(kK1Hi)}, is_real);
  return t.Finish();
}

// SHL: c = a * 2^amount, with (amount, 2^amount) from pow2 and the product from mul (whose
// range checks reject a power of 2^32 or more).
Table ShiftTable() {
  using namespace shift;
  TableBuilder t("shift", Names({"a", "amount", "power", "c", "is_real"}));
  const uint32_t is_real = t.Col(kIsReal);
  t.Boolean(is_real, "is_real");
  t.Receive(kZkvmAluBus, {t.Const(kAluShl), t.Col(kA), t.Col(kAmount), t.Col(kC)}, is_real);
  t.Send(kZkvmPow2Bus, {t.Col(kAmount), t.Col(kPower)}, is_real);
  t.Send(kZkvmAluBus, {t.Const(kAluMul), t.Col(kA), t.Col(kPower), t.Col(kC)}, is_real);
  return t.Finish();
}

// SLTU: a - b + 2^32 c = diff with diff a range-checked 32-bit word and c boolean; for
// 32-bit a and b exactly one c makes diff fit.
Table LtTable() {
  using namespace lt;
  TableBuilder t("lt", Names({"a", "b", "c", "diff_lo", "diff_hi", "is_real"}));
  const uint32_t is_real = t.Col(kIsReal);
  t.Boolean(is_real, "is_real");
  t.Boolean(t.Col(kC), "c");
  t.EveryRow(t.Sub(t.Add(t.Sub(t.Col(kA), t.Col(kB)), t.Scale(kWord, t.Col(kC))),
                   t.Word(t.Col(kDiffLo), t.Col(kDiffHi))),
             "difference");
  t.Receive(kZkvmAluBus, {t.Const(kAluSltu), t.Col(kA), t.Col(kB), t.Col(kC)}, is_real);
  t.Send(kZkvmRange16Bus, {t.Col(kDiffLo)}, is_real);
  t.Send(kZkvmRange16Bus, {t.Col(kDiffHi)}, is_real);
  return t.Finish();
}

// The outputs by index, fingerprinted like the program into the public output_digest.
Table IoTable() {
  using namespace io;
  TableBuilder t("io", Names({"index", "value", "mult", "digest"}));
  t.FirstRow(t.Col(kIndex), "index_first");
  t.Transition(t.Sub(t.Next(kIndex), t.Add(t.Col(kIndex), t.One())), "index_next");
  t.FirstRow(t.Sub(t.Col(kDigest), t.Col(kValue)), "digest_first");
  t.Transition(
      t.Sub(t.Next(kDigest), t.Add(t.Scale(kFingerprintBase, t.Col(kDigest)), t.Next(kValue))),
      "digest_next");
  t.LastRow(t.Sub(t.Col(kDigest), t.Pub(kPubOutputDigest)), "output_digest");
  t.Receive(kZkvmIoBus, {t.Col(kIndex), t.Col(kValue)}, t.Col(kMult));
  return t.Finish();
}

// ---------------------------------------------------------------------------------------
// The program: an iterative Fibonacci loop, unrolled to fill the program table, then a
// fixed-length routine that mixes the last values into a digest and outputs it.
// ---------------------------------------------------------------------------------------

struct Instr {
  uint32_t op = kHalt, rd = 0, rs1 = 0, rs2 = 0, imm = 0;
};

struct ProgramShape {
  uint32_t unroll = 0;      // Fibonacci steps per loop iteration
  uint32_t iterations = 0;  // loop iterations (r3 at the start)
  uint32_t mix_rounds = 0;  // rounds of the mixing routine
  std::vector<Instr> code;
};

// r1 = a, r2 = b, r3 = loop counter, r4 = data pointer, r5 = t / multiplier, r6 = digest.
ProgramShape MakeProgram(int k) {
  ProgramShape s;
  const uint64_t rows = uint64_t{1} << k;
  const uint32_t rom_rows = uint32_t{1} << (k - kProgramShift);
  s.unroll = (rom_rows - 32) / 5;
  s.mix_rounds = std::min<uint32_t>(256, uint32_t{1} << (k - 6));
  auto emit = [&](uint32_t op, uint32_t rd, uint32_t rs1, uint32_t rs2, uint32_t imm) {
    s.code.push_back(Instr{op, rd, rs1, rs2, imm});
  };
  emit(kAddi, 4, 0, 0, kDataBase);  // p = 16
  const uint32_t loop = static_cast<uint32_t>(s.code.size());
  for (uint32_t j = 0; j < s.unroll; ++j) {
    emit(kAdd, 5, 1, 2, 0);   // t = a + b
    emit(kSw, 0, 4, 5, j);    // mem[p + j] = t
    emit(kAddi, 1, 2, 0, 0);  // a = b
    emit(kLw, 2, 4, 0, j);    // b = mem[p + j]
    emit(kXor, 6, 6, 5, 0);   // h ^= t
  }
  emit(kAddi, 4, 4, 0, s.unroll);     // p += unroll
  emit(kAddi, 3, 3, 0, 0xffffffffu);  // r3 -= 1
  emit(kBne, 0, 3, 0, loop);
  emit(kAddi, 3, 0, 0, s.mix_rounds);
  emit(kAddi, 4, 4, 0, static_cast<uint32_t>(kWord - s.mix_rounds));  // p -= rounds
  emit(kAddi, 5, 0, 0, kMixMultiplier);
  const uint32_t mix = static_cast<uint32_t>(s.code.size());
  emit(kLw, 7, 4, 0, 0);               // v = mem[p]
  emit(kMul, 6, 6, 5, 0);              // h *= K
  emit(kXor, 6, 6, 7, 0);              // h ^= v
  emit(kShli, 1, 6, 0, kShiftAmount);  // x = h << 7
  emit(kOr, 1, 1, 7, 0);               // x |= v
  emit(kSltu, 7, 1, 6, 0);             // y = x < h
  emit(kAnd, 1, 1, 5, 0);              // x &= K
  emit(kAdd, 6, 6, 1, 0);              // h += x
  emit(kAdd, 6, 6, 7, 0);              // h += y
  emit(kAddi, 4, 4, 0, 1);             // p += 1
  emit(kAddi, 3, 3, 0, 0xffffffffu);   // r3 -= 1
  emit(kBne, 0, 3, 0, mix);
  emit(kOut, 0, 2, 0, 0);  // output[0] = b
  emit(kOut, 0, 6, 0, 1);  // output[1] = h
  emit(kSw, 0, 0, 6, 0);   // mem[0] = h
  emit(kHalt, 0, 0, 0, 0);
  // Instructions executed before HALT: 1 + iterations * (5 unroll + 3) + 6 + 12 rounds;
  // the largest count that leaves the last row a HALT.
  const uint64_t fixed = 1 + 6 + 12 * uint64_t{s.mix_rounds};
  s.iterations = static_cast<uint32_t>((rows - 1 - fixed) / (5 * uint64_t{s.unroll} + 3));
  return s;
}

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

Fp F(uint64_t v) { return Fp::FromU64(v); }

struct AluEvent {
  uint32_t op, a, b, c;
};
struct MemEvent {
  uint32_t addr, clk, value, is_write;
};

// Counts of lookups into the fixed tables.
struct LookupCounts {
  std::vector<uint32_t> range16 = std::vector<uint32_t>(size_t{1} << kLogRange16);
  std::vector<uint32_t> u14 = std::vector<uint32_t>(size_t{1} << kLogU14);
  std::vector<uint32_t> u8 = std::vector<uint32_t>(size_t{1} << kLogU8);
  std::vector<uint32_t> pow2 = std::vector<uint32_t>(size_t{1} << kLogPow2);
  std::array<std::vector<uint32_t>, 3> nibble = {
      std::vector<uint32_t>(256), std::vector<uint32_t>(256), std::vector<uint32_t>(256)};
  void Range16(uint32_t v) { ++range16[v]; }
  void Word(uint32_t v) {
    ++range16[v & 0xffff];
    ++range16[v >> 16];
  }
};

// What the CPU hands to the other tables.
struct Execution {
  std::vector<uint64_t> fetches;  // per pc
  std::vector<AluEvent> alu, bitwise, mul, shift, lt;
  std::vector<MemEvent> memory;
  std::vector<std::pair<uint32_t, uint32_t>> outputs;  // (index, value)
  uint32_t result = 0;
  uint64_t cycles = 0;
};

absl::Status Overflow(const char* table) {
  return absl::InternalError(absl::StrCat("zkvm: the ", table, " table overflowed"));
}

// Runs the program and writes the CPU table row by row; padding rows repeat the HALT row.
absl::Status RunCpu(const ProgramShape& shape, uint32_t a0, uint32_t a1, TableTrace& tt,
                    Execution& ex, LookupCounts& counts) {
  using namespace cpu;
  const size_t rows = tt.rows();
  Fp* col[kNumColumns];
  for (uint32_t c = 0; c < kNumColumns; ++c) col[c] = tt.column(c);
  const std::vector<Instr>& code = shape.code;
  ex.fetches.assign(code.size(), 0);
  // Room for as many events as the receiving tables have rows (more is an overflow).
  ex.alu.reserve(rows >> kAluShift);
  ex.bitwise.reserve(rows >> kBitwiseShift);
  ex.memory.reserve(rows >> kMemoryShift);
  ex.mul.reserve(size_t{1} << kLogMul);
  ex.shift.reserve(size_t{1} << kLogShift);
  ex.lt.reserve(size_t{1} << kLogLt);
  std::vector<uint32_t> mem(kDataBase + uint64_t{shape.unroll} * shape.iterations + 64, 0);
  uint32_t reg[kNumRegisters] = {0, a0, a1, shape.iterations, 0, 0, 0, 0};
  uint32_t pc = 0;
  uint64_t steps = 0;
  for (size_t r = 0; r < rows; ++r) {
    const Instr& in = code[pc];
    const uint32_t a = reg[in.rs1];
    const uint32_t b = UsesImm(in.op) ? in.imm : reg[in.rs2];
    uint32_t c = 0, next_pc = pc + 1;
    uint64_t addr = 0;
    Fp inv = Fp::Zero(), neq = Fp::Zero();
    switch (in.op) {
      case kHalt:
        next_pc = pc;
        break;
      case kAdd:
      case kAddi:
        c = a + b;
        ex.alu.push_back({kAluAdd, a, b, c});
        break;
      case kSub:
        c = a - b;
        ex.alu.push_back({kAluSub, a, b, c});
        break;
      case kXor:
        c = a ^ b;
        ex.bitwise.push_back({kAluXor, a, b, c});
        break;
      case kAnd:
        c = a & b;
        ex.bitwise.push_back({kAluAnd, a, b, c});
        break;
      case kOr:
        c = a | b;
        ex.bitwise.push_back({kAluOr, a, b, c});
        break;
      case kMul:
        c = a * b;
        ex.mul.push_back({kAluMul, a, b, c});
        break;
      case kSltu:
        c = a < b ? 1 : 0;
        ex.lt.push_back({kAluSltu, a, b, c});
        break;
      case kShli:
        c = a << b;  // b < 32 in this program
        ex.shift.push_back({kAluShl, a, b, c});
        ex.mul.push_back({kAluMul, a, uint32_t{1} << b, c});
        break;
      case kLw:
      case kSw:
        addr = uint64_t{a} + in.imm;
        if (addr >= mem.size()) return absl::InternalError("zkvm: address out of range");
        if (in.op == kSw) mem[addr] = b;
        c = in.op == kSw ? b : mem[addr];
        ex.memory.push_back(
            {static_cast<uint32_t>(addr), static_cast<uint32_t>(r), c, in.op == kSw ? 1u : 0u});
        col[kAddrLo][r] = F(addr & 0xffff);
        col[kAddrHi][r] = F(addr >> 16);
        counts.Range16(addr & 0xffff);
        ++counts.u14[addr >> 16];
        break;
      case kBne:
        if (a != b) {
          next_pc = in.imm;
          inv = (F(a) - F(b)).Inverse();
          neq = Fp::One();
        }
        break;
      case kOut:
        ex.outputs.emplace_back(in.imm, a);
        break;
    }
    col[kClk][r] = F(r);
    col[kPc][r] = F(pc);
    col[kNextPc][r] = F(next_pc);
    col[kOpcode][r] = F(in.op);
    col[kRd][r] = F(in.rd);
    col[kRs1][r] = F(in.rs1);
    col[kRs2][r] = F(in.rs2);
    col[kImmLo][r] = F(in.imm & 0xffff);
    col[kImmHi][r] = F(in.imm >> 16);
    col[kFlag0 + in.op][r] = Fp::One();
    for (int i = 0; i < kNumRegisters; ++i) {
      col[kReg0 + 2 * i][r] = F(reg[i] & 0xffff);
      col[kReg0 + 2 * i + 1][r] = F(reg[i] >> 16);
    }
    col[kRdSel0 + in.rd][r] = Fp::One();
    col[kRs1Sel0 + in.rs1][r] = Fp::One();
    col[kRs2Sel0 + in.rs2][r] = Fp::One();
    col[kALo][r] = F(a & 0xffff);
    col[kALo + 1][r] = F(a >> 16);
    col[kBLo][r] = F(b & 0xffff);
    col[kBLo + 1][r] = F(b >> 16);
    col[kCLo][r] = F(c & 0xffff);
    col[kCLo + 1][r] = F(c >> 16);
    col[kDiffInv][r] = inv;
    col[kNeq][r] = neq;
    col[kSteps][r] = F(steps);
    ++ex.fetches[pc];
    if (in.op == kHalt) {
      // The machine stays put: every later row equals this one but for the clock and
      // first_halt (0 there: padding rows fetch nothing).
      col[kFirstHalt][r] = Fp::One();
      for (uint32_t c2 = 0; c2 < kNumColumns; ++c2) {
        if (c2 != kClk && c2 != kFirstHalt) std::fill(col[c2] + r + 1, col[c2] + rows, col[c2][r]);
      }
      for (size_t q = r + 1; q < rows; ++q) col[kClk][q] = F(q);
      ex.result = reg[2];
      ex.cycles = steps;
      return absl::OkStatus();
    }
    if (WritesRd(in.op)) {
      counts.Word(c);
      reg[in.rd] = c;
    }
    ++steps;
    pc = next_pc;
  }
  return absl::InternalError("zkvm: the program did not halt within the CPU table");
}

// Fingerprint of a program ROM row (see ProgramTable).
uint64_t EncodeInstr(const Instr& in) {
  return uint64_t{in.op} | uint64_t{in.rd} << 8 | uint64_t{in.rs1} << 12 | uint64_t{in.rs2} << 16 |
         uint64_t{in.imm & 0xffff} << 20 | uint64_t{in.imm >> 16} << 36;
}

TableTrace ProgramTrace(const ProgramShape& shape, const Execution& ex, int log_rows, Fp& hash) {
  using namespace program;
  TableTrace tt(kNumColumns, log_rows);
  const Fp base = F(kFingerprintBase);
  for (size_t r = 0; r < tt.rows(); ++r) {
    const Instr in = r < shape.code.size() ? shape.code[r] : Instr{};
    tt.at(kPc, r) = F(r);
    tt.at(kOpcode, r) = F(in.op);
    tt.at(kRd, r) = F(in.rd);
    tt.at(kRs1, r) = F(in.rs1);
    tt.at(kRs2, r) = F(in.rs2);
    tt.at(kImmLo, r) = F(in.imm & 0xffff);
    tt.at(kImmHi, r) = F(in.imm >> 16);
    tt.at(kMult, r) = r < ex.fetches.size() ? F(ex.fetches[r]) : Fp::Zero();
    hash = r == 0 ? F(EncodeInstr(in)) : base * hash + F(EncodeInstr(in));
    tt.at(kHash, r) = hash;
  }
  return tt;
}

absl::StatusOr<TableTrace> MemoryTrace(std::vector<MemEvent>& events, int log_rows,
                                       LookupCounts& counts) {
  using namespace memory;
  TableTrace tt(kNumColumns, log_rows);
  if (events.size() > tt.rows()) return Overflow("memory");
  std::sort(events.begin(), events.end(), [](const MemEvent& x, const MemEvent& y) {
    return x.addr != y.addr ? x.addr < y.addr : x.clk < y.clk;
  });
  const size_t n = events.size();
  for (size_t r = 0; r < n; ++r) {
    const MemEvent& e = events[r];
    const bool first = r == 0 || events[r - 1].addr != e.addr;
    tt.at(kAddr, r) = F(e.addr);
    tt.at(kClk, r) = F(e.clk);
    tt.at(kValue, r) = F(e.value);
    tt.at(kIsWrite, r) = F(e.is_write);
    tt.at(kIsReal, r) = Fp::One();
    tt.at(kFirst, r) = F(first);
    uint64_t delta = 0;
    if (r + 1 < n) {
      const MemEvent& nx = events[r + 1];
      delta = nx.addr != e.addr ? uint64_t{nx.addr} - e.addr - 1 : uint64_t{nx.clk} - e.clk - 1;
    }
    tt.at(kDeltaLo, r) = F(delta & 0xffff);
    tt.at(kDeltaHi, r) = F(delta >> 16);
    counts.Range16(delta & 0xffff);
    ++counts.u14[delta >> 16];
  }
  // Padding: not real, and marked as first writes so the transition constraints hold.
  for (size_t r = n; r < tt.rows(); ++r) {
    tt.at(kIsWrite, r) = Fp::One();
    tt.at(kFirst, r) = Fp::One();
  }
  return tt;
}

absl::StatusOr<TableTrace> AluTrace(const std::vector<AluEvent>& events, int log_rows,
                                    LookupCounts& counts) {
  using namespace alu;
  TableTrace tt(kNumColumns, log_rows);
  if (events.size() > tt.rows()) return Overflow("alu");
  for (size_t r = 0; r < events.size(); ++r) {
    const AluEvent& e = events[r];
    const bool add = e.op == kAluAdd;
    // ADD: a + b = c (+ carries); SUB: c + b = a, so the carry chain runs over (x, b).
    const uint32_t x = add ? e.a : e.c;
    const uint32_t lo = (x & 0xffff) + (e.b & 0xffff);
    const uint32_t carry0 = lo >> 16;
    const uint32_t hi = (x >> 16) + (e.b >> 16) + carry0;
    tt.at(add ? kIsAdd : kIsSub, r) = Fp::One();
    const uint32_t words[3] = {e.a, e.b, e.c};
    for (int w = 0; w < 3; ++w) {
      tt.at(kALo + 2 * w, r) = F(words[w] & 0xffff);
      tt.at(kALo + 2 * w + 1, r) = F(words[w] >> 16);
      counts.Word(words[w]);
    }
    tt.at(kCarry0, r) = F(carry0);
    tt.at(kCarry1, r) = F(hi >> 16);
  }
  return tt;
}

absl::StatusOr<TableTrace> BitwiseTrace(const std::vector<AluEvent>& events, int log_rows,
                                        LookupCounts& counts) {
  using namespace bitwise;
  TableTrace tt(kNumColumns, log_rows);
  if (events.size() > tt.rows()) return Overflow("bitwise");
  for (size_t r = 0; r < events.size(); ++r) {
    const AluEvent& e = events[r];
    const uint32_t which = e.op - kAluXor;  // 0 xor, 1 and, 2 or
    tt.at(kIsXor + which, r) = Fp::One();
    for (uint32_t i = 0; i < 8; ++i) {
      const uint32_t a = (e.a >> (4 * i)) & 15, b = (e.b >> (4 * i)) & 15;
      tt.at(kA0 + i, r) = F(a);
      tt.at(kB0 + i, r) = F(b);
      tt.at(kC0 + i, r) = F((e.c >> (4 * i)) & 15);
      ++counts.nibble[which][a * 16 + b];
    }
  }
  return tt;
}

absl::StatusOr<TableTrace> MulTrace(const std::vector<AluEvent>& events, LookupCounts& counts) {
  using namespace mul;
  TableTrace tt(kNumColumns, kLogMul);
  if (events.size() > tt.rows()) return Overflow("mul");
  for (size_t r = 0; r < events.size(); ++r) {
    const AluEvent& e = events[r];
    const uint64_t a_lo = e.a & 0xffff, a_hi = e.a >> 16, b_lo = e.b & 0xffff, b_hi = e.b >> 16;
    const uint64_t k0 = (a_lo * b_lo) >> 16;
    const uint64_t k1 = (a_lo * b_hi + a_hi * b_lo + k0) >> 16;
    const uint64_t limbs[8] = {a_lo, a_hi, b_lo, b_hi, e.c & 0xffffu, e.c >> 16, k0, k1 & 0xffff};
    for (uint32_t c = 0; c < 8; ++c) {
      tt.at(kALo + c, r) = F(limbs[c]);
      counts.Range16(static_cast<uint32_t>(limbs[c]));
    }
    tt.at(kK1Hi, r) = F(k1 >> 16);
    ++counts.u8[k1 >> 16];
    tt.at(kIsReal, r) = Fp::One();
  }
  return tt;
}

absl::StatusOr<TableTrace> ShiftTrace(const std::vector<AluEvent>& events, LookupCounts& counts) {
  using namespace shift;
  TableTrace tt(kNumColumns, kLogShift);
  if (events.size() > tt.rows()) return Overflow("shift");
  for (size_t r = 0; r < events.size(); ++r) {
    const AluEvent& e = events[r];
    tt.at(kA, r) = F(e.a);
    tt.at(kAmount, r) = F(e.b);
    tt.at(kPower, r) = F(uint64_t{1} << e.b);
    tt.at(kC, r) = F(e.c);
    tt.at(kIsReal, r) = Fp::One();
    ++counts.pow2[e.b];
  }
  return tt;
}

absl::StatusOr<TableTrace> LtTrace(const std::vector<AluEvent>& events, LookupCounts& counts) {
  using namespace lt;
  TableTrace tt(kNumColumns, kLogLt);
  if (events.size() > tt.rows()) return Overflow("lt");
  for (size_t r = 0; r < events.size(); ++r) {
    const AluEvent& e = events[r];
    const uint32_t diff = static_cast<uint32_t>(uint64_t{e.a} - e.b + (uint64_t{e.c} << 32));
    tt.at(kA, r) = F(e.a);
    tt.at(kB, r) = F(e.b);
    tt.at(kC, r) = F(e.c);
    tt.at(kDiffLo, r) = F(diff & 0xffff);
    tt.at(kDiffHi, r) = F(diff >> 16);
    tt.at(kIsReal, r) = Fp::One();
    counts.Word(diff);
  }
  return tt;
}

absl::StatusOr<TableTrace> IoTrace(const Execution& ex, Fp& digest) {
  using namespace io;
  TableTrace tt(kNumColumns, kLogIo);
  for (const auto& [index, value] : ex.outputs) {
    if (index >= tt.rows()) return Overflow("io");
    tt.at(kValue, index) = F(value);
    tt.at(kMult, index) += Fp::One();
  }
  const Fp base = F(kFingerprintBase);
  for (size_t r = 0; r < tt.rows(); ++r) {
    tt.at(kIndex, r) = F(r);
    digest = r == 0 ? tt.at(kValue, 0) : base * digest + tt.at(kValue, r);
    tt.at(kDigest, r) = digest;
  }
  return tt;
}

TableTrace RangeTrace(const std::vector<uint32_t>& counts, int log_rows) {
  TableTrace tt(2, log_rows);
  for (size_t r = 0; r < tt.rows(); ++r) {
    tt.at(0, r) = F(r);
    tt.at(1, r) = F(counts[r]);
  }
  return tt;
}

TableTrace NibbleTrace(const std::vector<uint32_t>& counts) {
  TableTrace tt(9, kLogNibble);
  for (size_t r = 0; r < tt.rows(); ++r) {
    for (uint32_t i = 0; i < 8; ++i) tt.at(i, r) = F((r >> (i < 4 ? 4 + i : i - 4)) & 1);
    tt.at(8, r) = F(counts[r]);
  }
  return tt;
}

TableTrace Pow2Trace(const std::vector<uint32_t>& counts) {
  TableTrace tt(3, kLogPow2);
  Fp power = Fp::One();
  for (size_t r = 0; r < tt.rows(); ++r) {
    tt.at(0, r) = F(r);
    tt.at(1, r) = power;
    tt.at(2, r) = F(counts[r]);
    power = power + power;
  }
  return tt;
}

}  // namespace

Air ZkvmAir() {
  Air air;
  air.name = "zkvm";
  air.max_constraint_degree = 3;
  air.public_inputs = {"a0",     "a1",           "iterations",   "result",
                       "cycles", "program_hash", "output_digest"};
  air.tables.resize(kZkvmNumTables);
  air.tables[kZkvmCpu] = CpuTable();
  air.tables[kZkvmProgram] = ProgramTable();
  air.tables[kZkvmMemory] = MemoryTable();
  air.tables[kZkvmAlu] = AluTable();
  air.tables[kZkvmBitwise] = BitwiseTable();
  air.tables[kZkvmRange16] = RangeTable("range16", kLogRange16, kZkvmRange16Bus);
  air.tables[kZkvmXor4] = NibbleTable("xor4", kAluXor);
  air.tables[kZkvmAnd4] = NibbleTable("and4", kAluAnd);
  air.tables[kZkvmOr4] = NibbleTable("or4", kAluOr);
  air.tables[kZkvmU8] = RangeTable("u8", kLogU8, kZkvmU8Bus);
  air.tables[kZkvmU14] = RangeTable("u14", kLogU14, kZkvmU14Bus);
  air.tables[kZkvmPow2] = Pow2Table();
  air.tables[kZkvmMul] = MulTable();
  air.tables[kZkvmShift] = ShiftTable();
  air.tables[kZkvmLt] = LtTable();
  air.tables[kZkvmIo] = IoTable();
  return air;
}

absl::StatusOr<std::vector<int>> ZkvmLogRows(int scale) {
  if (scale < kZkvmMinScale || scale > kZkvmMaxScale) {
    return absl::InvalidArgumentError(
        absl::StrCat("zkvm: scale ", scale, " outside [", kZkvmMinScale, ", ", kZkvmMaxScale, "]"));
  }
  std::vector<int> log_rows(kZkvmNumTables);
  log_rows[kZkvmCpu] = scale;
  log_rows[kZkvmProgram] = scale - kProgramShift;
  log_rows[kZkvmMemory] = scale - kMemoryShift;
  log_rows[kZkvmAlu] = scale - kAluShift;
  log_rows[kZkvmBitwise] = scale - kBitwiseShift;
  log_rows[kZkvmRange16] = kLogRange16;
  log_rows[kZkvmXor4] = log_rows[kZkvmAnd4] = log_rows[kZkvmOr4] = kLogNibble;
  log_rows[kZkvmU8] = kLogU8;
  log_rows[kZkvmU14] = kLogU14;
  log_rows[kZkvmPow2] = kLogPow2;
  log_rows[kZkvmMul] = kLogMul;
  log_rows[kZkvmShift] = kLogShift;
  log_rows[kZkvmLt] = kLogLt;
  log_rows[kZkvmIo] = kLogIo;
  return log_rows;
}

absl::StatusOr<WorkloadInstance> Zkvm(int scale, uint64_t seed) {
  if (scale < kZkvmMinScale || scale > kZkvmMaxScale) {
    return absl::InvalidArgumentError(
        absl::StrCat("zkvm: scale ", scale, " outside [", kZkvmMinScale, ", ", kZkvmMaxScale, "]"));
  }
  uint64_t state = seed;
  const uint32_t a0 = static_cast<uint32_t>(SplitMix64(state));
  const uint32_t a1 = static_cast<uint32_t>(SplitMix64(state));
  const ProgramShape shape = MakeProgram(scale);

  WorkloadInstance w;
  w.air = ZkvmAir();
  std::vector<TableTrace>& tables = w.trace.tables;
  tables.resize(kZkvmNumTables);
  LookupCounts counts;
  Execution ex;
  tables[kZkvmCpu] = TableTrace(cpu::kNumColumns, scale);
  if (auto s = RunCpu(shape, a0, a1, tables[kZkvmCpu], ex, counts); !s.ok()) return s;

  Fp program_hash, output_digest;
  tables[kZkvmProgram] = ProgramTrace(shape, ex, scale - kProgramShift, program_hash);
  if (ex.fetches.size() > tables[kZkvmProgram].rows()) return Overflow("program");
  auto memory = MemoryTrace(ex.memory, scale - kMemoryShift, counts);
  auto alu = AluTrace(ex.alu, scale - kAluShift, counts);
  auto bitwise = BitwiseTrace(ex.bitwise, scale - kBitwiseShift, counts);
  auto mul = MulTrace(ex.mul, counts);
  auto shift = ShiftTrace(ex.shift, counts);
  auto lt = LtTrace(ex.lt, counts);
  auto io = IoTrace(ex, output_digest);
  for (auto* t : {&memory, &alu, &bitwise, &mul, &shift, &lt, &io}) {
    if (!t->ok()) return t->status();
  }
  tables[kZkvmMemory] = *std::move(memory);
  tables[kZkvmAlu] = *std::move(alu);
  tables[kZkvmBitwise] = *std::move(bitwise);
  tables[kZkvmMul] = *std::move(mul);
  tables[kZkvmShift] = *std::move(shift);
  tables[kZkvmLt] = *std::move(lt);
  tables[kZkvmIo] = *std::move(io);
  // The fixed tables last: every lookup into them has been counted.
  tables[kZkvmRange16] = RangeTrace(counts.range16, kLogRange16);
  tables[kZkvmXor4] = NibbleTrace(counts.nibble[0]);
  tables[kZkvmAnd4] = NibbleTrace(counts.nibble[1]);
  tables[kZkvmOr4] = NibbleTrace(counts.nibble[2]);
  tables[kZkvmU8] = RangeTrace(counts.u8, kLogU8);
  tables[kZkvmU14] = RangeTrace(counts.u14, kLogU14);
  tables[kZkvmPow2] = Pow2Trace(counts.pow2);

  w.public_inputs = {F(a0),        F(a1),        F(shape.iterations), F(ex.result),
                     F(ex.cycles), program_hash, output_digest};
  return w;
}

}  // namespace prover::air
