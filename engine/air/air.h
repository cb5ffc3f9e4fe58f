// The AIR intermediate representation: tables of base-field columns, constraints written
// as expression DAGs, and LogUp bus interactions between tables.
//
// Expressions. Each table owns an arena of expression nodes; a node refers to its operands
// by index, and operands must come earlier in the arena, so every arena is acyclic by
// construction and shared subexpressions are written once. A node is a constant, a column
// of the current row (offset 0) or of the next row (offset 1), a public input of the AIR,
// a challenge (0: the LogUp alpha, 1: the LogUp beta), or add / sub / mul / neg of
// earlier nodes. Degrees: columns 1, constants, public inputs and challenges 0, add / sub
// the maximum, mul the sum, neg unchanged.
//
// Constraints (each an expression that must vanish):
//   kEveryRow    on every row; may not mention the next row
//   kTransition  on every row but the last (row r and row r + 1)
//   kFirstRow    on row 0 only; kLastRow on row n - 1 only; neither mentions the next row
//
// Interactions. An interaction sends the tuple (values...) on bus `bus` with multiplicity
// `multiplicity` on every row (a negative multiplicity receives). The buses of a job
// balance when, for every bus and tuple, the multiplicities over all rows of all tables
// sum to zero. Tuple values and multiplicities are expressions of the current row.
//
// Heights are not part of the AIR: each table's trace has 2^log_rows rows, which the proof
// states. A table may fix its height (fixed_log_rows >= 0), as a range-check table does.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/field/goldilocks.h"
#include "engine/hash/keccak.h"

namespace prover::air {

enum class ExprOp : uint8_t {
  kConstant = 0,
  kColumn = 1,
  kPublicInput = 2,
  kChallenge = 3,
  kAdd = 4,
  kSub = 5,
  kMul = 6,
  kNeg = 7,
};

struct Expr {
  ExprOp op = ExprOp::kConstant;
  uint64_t value = 0;       // kConstant: canonical field value; kColumn: column; kPublicInput /
                            // kChallenge: index
  uint32_t row_offset = 0;  // kColumn: 0 (current row) or 1 (next row)
  uint32_t lhs = 0;         // kAdd, kSub, kMul, kNeg: operand node
  uint32_t rhs = 0;         // kAdd, kSub, kMul: second operand node

  static Expr Constant(Fp c) { return Expr{ExprOp::kConstant, c.value(), 0, 0, 0}; }
  static Expr Column(uint32_t c, uint32_t offset = 0) {
    return Expr{ExprOp::kColumn, c, offset, 0, 0};
  }
  static Expr PublicInput(uint32_t i) { return Expr{ExprOp::kPublicInput, i, 0, 0, 0}; }
  static Expr Challenge(uint32_t i) { return Expr{ExprOp::kChallenge, i, 0, 0, 0}; }
  static Expr Binary(ExprOp op, uint32_t a, uint32_t b) { return Expr{op, 0, 0, a, b}; }
  static Expr Neg(uint32_t a) { return Expr{ExprOp::kNeg, 0, 0, a, 0}; }
};

enum class ConstraintKind : uint8_t { kEveryRow = 0, kTransition = 1, kFirstRow = 2, kLastRow = 3 };

// Of four values, one per constraint kind, the one for `kind`: for evaluators that keep
// something per kind (a numerator, a zerofier's inverse, a register).
template <typename T>
const T& ForKind(ConstraintKind kind, const T& every_row, const T& transition, const T& first_row,
                 const T& last_row) {
  switch (kind) {
    case ConstraintKind::kEveryRow:
      return every_row;
    case ConstraintKind::kTransition:
      return transition;
    case ConstraintKind::kFirstRow:
      return first_row;
    case ConstraintKind::kLastRow:
      break;
  }
  return last_row;
}

struct Constraint {
  ConstraintKind kind = ConstraintKind::kTransition;
  uint32_t expr = 0;
  std::string name;  // optional, for error messages
};

struct Interaction {
  uint32_t bus = 0;
  std::vector<uint32_t> values;  // expression nodes of the tuple
  uint32_t multiplicity = 0;     // expression node
};

struct Table {
  std::string name;
  uint32_t num_columns = 0;
  std::vector<std::string> column_names;  // empty, or one per column
  int fixed_log_rows = -1;                // -1: any height
  std::vector<Expr> exprs;
  std::vector<Constraint> constraints;
  std::vector<Interaction> interactions;

  // Appends a node and returns its index (a small builder for workloads and tests).
  uint32_t Add(const Expr& e) {
    exprs.push_back(e);
    return static_cast<uint32_t>(exprs.size() - 1);
  }
};

struct Air {
  std::string name;
  uint32_t max_constraint_degree = 3;
  std::vector<std::string> public_inputs;  // names; values come with each job
  std::vector<Table> tables;
};

// Bounds that validation enforces, so no AIR can exhaust the prover.
struct AirLimits {
  uint32_t max_tables = 64;
  uint32_t max_columns = 4096;
  uint32_t max_exprs = 1u << 20;
  uint32_t max_constraints = 1u << 16;
  uint32_t max_interactions = 1024;
  uint32_t max_tuple_len = 64;
  uint32_t max_public_inputs = 1024;
  uint32_t max_constraint_degree = 8;
  int max_log_rows = 26;
  // Every name (the AIR's, tables', columns', constraints', public inputs') in bytes.
  uint32_t max_name_bytes = 256;
  // Expression nodes of all tables together: the evaluators' scratch grows with it.
  uint64_t max_total_exprs = 1u << 20;
  // The protobuf encoding of the whole AIR (AirFromProto only), in bytes.
  uint64_t max_encoded_bytes = 16u << 20;
};

inline constexpr uint32_t kNumChallenges = 2;

// Checks structure, ranges and degrees; errors are INVALID_ARGUMENT with the path of the
// offending field, e.g. "tables[2].exprs[17]: column 80 out of range (table has 74 columns)".
absl::Status Validate(const Air& air, const AirLimits& limits = AirLimits());

// Degree of every node of a table (valid tables only). Degrees saturate at 2^32 - 1, so a
// long chain of products can never wrap around to a small degree.
std::vector<uint32_t> NodeDegrees(const Table& table);

// True when a node's expression reads the next row.
std::vector<bool> NodeUsesNextRow(const Table& table);

// True when a node's value lies in the extension field (it depends on a challenge).
std::vector<bool> NodeIsExtension(const Table& table);

// True for the nodes that the roots' values depend on, the roots included.
std::vector<bool> NodesNeeded(const Table& table, std::span<const uint32_t> roots);

// The AIR's canonical binary encoding (docs/PROTOCOL.md section 3: every field in order,
// lengths first, u64 little-endian) and its identity, the Keccak-256 of that encoding,
// bound into every proof's transcript. Names are part of it.
std::vector<uint8_t> AirEncoding(const Air& air);
Digest AirDigest(const Air& air);

}  // namespace prover::air
