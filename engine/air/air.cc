#include "engine/air/air.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/field/field_codec.h"

namespace prover::air {
namespace {

absl::Status Error(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

std::string TablePath(size_t t) { return absl::StrCat("tables[", t, "]"); }

absl::Status CheckNodeRef(const Table& table, uint32_t node, const std::string& path) {
  if (node >= table.exprs.size()) {
    return Error(path, absl::StrCat("expression ", node, " out of range (table has ",
                                    table.exprs.size(), " expressions)"));
  }
  return absl::OkStatus();
}

absl::Status CheckName(const std::string& name, const std::string& path, const AirLimits& limits) {
  if (name.size() > limits.max_name_bytes) {
    return Error(path, absl::StrCat(name.size(), " bytes; names are at most ",
                                    limits.max_name_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status ValidateTable(const Air& air, const Table& table, size_t t, const AirLimits& limits) {
  const std::string tp = TablePath(t);
  if (auto s = CheckName(table.name, tp + ".name", limits); !s.ok()) return s;
  for (size_t c = 0; c < table.column_names.size(); ++c) {
    if (auto s =
            CheckName(table.column_names[c], absl::StrCat(tp, ".column_names[", c, "]"), limits);
        !s.ok()) {
      return s;
    }
  }
  for (size_t k = 0; k < table.constraints.size(); ++k) {
    if (auto s = CheckName(table.constraints[k].name,
                           absl::StrCat(tp, ".constraints[", k, "].name"), limits);
        !s.ok()) {
      return s;
    }
  }
  if (table.num_columns == 0 || table.num_columns > limits.max_columns) {
    return Error(tp + ".num_columns", absl::StrCat(table.num_columns, " columns; must be in [1, ",
                                                   limits.max_columns, "]"));
  }
  if (!table.column_names.empty() && table.column_names.size() != table.num_columns) {
    return Error(tp + ".column_names", absl::StrCat(table.column_names.size(), " names for ",
                                                    table.num_columns, " columns"));
  }
  if (table.fixed_log_rows != -1 &&
      (table.fixed_log_rows < 1 || table.fixed_log_rows > limits.max_log_rows)) {
    return Error(tp + ".fixed_log_rows",
                 absl::StrCat(table.fixed_log_rows, " outside [1, ", limits.max_log_rows, "]"));
  }
  if (table.exprs.size() > limits.max_exprs) {
    return Error(tp + ".exprs",
                 absl::StrCat(table.exprs.size(), " expressions; at most ", limits.max_exprs));
  }
  for (size_t i = 0; i < table.exprs.size(); ++i) {
    const Expr& e = table.exprs[i];
    const std::string ep = absl::StrCat(tp, ".exprs[", i, "]");
    // The fields an operation does not use are zero (the digest encodes all five, so an
    // AIR has one encoding; AirFromProto and the builders leave them zero).
    const bool uses_value = e.op <= ExprOp::kChallenge;
    const bool uses_lhs = e.op >= ExprOp::kAdd && e.op <= ExprOp::kNeg;
    const bool uses_rhs = e.op >= ExprOp::kAdd && e.op <= ExprOp::kMul;
    if ((!uses_value && e.value != 0) || (e.op != ExprOp::kColumn && e.row_offset != 0) ||
        (!uses_lhs && e.lhs != 0) || (!uses_rhs && e.rhs != 0)) {
      return Error(ep, "a field this operation does not use is not zero");
    }
    switch (e.op) {
      case ExprOp::kConstant:
        if (e.value >= Fp::kModulus) {
          return Error(ep, absl::StrCat("non-canonical constant ", e.value));
        }
        break;
      case ExprOp::kColumn:
        if (e.value >= table.num_columns) {
          return Error(ep, absl::StrCat("column ", e.value, " out of range (table has ",
                                        table.num_columns, " columns)"));
        }
        if (e.row_offset > 1) {
          return Error(ep, absl::StrCat("row offset ", e.row_offset, " (must be 0 or 1)"));
        }
        break;
      case ExprOp::kPublicInput:
        if (e.value >= air.public_inputs.size()) {
          return Error(ep, absl::StrCat("public input ", e.value, " out of range (the AIR has ",
                                        air.public_inputs.size(), ")"));
        }
        break;
      case ExprOp::kChallenge:
        if (e.value >= kNumChallenges) {
          return Error(ep, absl::StrCat("challenge ", e.value, " out of range (there are ",
                                        kNumChallenges, ")"));
        }
        break;
      case ExprOp::kAdd:
      case ExprOp::kSub:
      case ExprOp::kMul:
        if (e.rhs >= i) {
          return Error(ep, absl::StrCat("operand ", e.rhs, " does not precede the node"));
        }
        [[fallthrough]];
      case ExprOp::kNeg:
        if (e.lhs >= i) {
          return Error(ep, absl::StrCat("operand ", e.lhs, " does not precede the node"));
        }
        break;
      default:
        return Error(ep, absl::StrCat("unknown operation ", static_cast<int>(e.op)));
    }
  }
  const std::vector<uint32_t> degree = NodeDegrees(table);
  const std::vector<bool> next = NodeUsesNextRow(table);
  if (table.constraints.size() > limits.max_constraints) {
    return Error(
        tp + ".constraints",
        absl::StrCat(table.constraints.size(), " constraints; at most ", limits.max_constraints));
  }
  for (size_t k = 0; k < table.constraints.size(); ++k) {
    const Constraint& c = table.constraints[k];
    const std::string cp = absl::StrCat(tp, ".constraints[", k, "]");
    if (static_cast<uint8_t>(c.kind) > 3) return Error(cp + ".kind", "unknown constraint kind");
    if (auto s = CheckNodeRef(table, c.expr, cp + ".expr"); !s.ok()) return s;
    if (degree[c.expr] > air.max_constraint_degree) {
      return Error(cp + ".expr",
                   absl::StrCat("degree ", degree[c.expr], " exceeds the AIR's maximum ",
                                air.max_constraint_degree));
    }
    if (degree[c.expr] == 0) {
      return Error(cp + ".expr", "constant constraint (degree 0): it does not depend on the trace");
    }
    // A boundary constraint's quotient c / (x - x_0) must stay below degree (D - 1) n
    // like the others: deg c <= D - 1.
    if ((c.kind == ConstraintKind::kFirstRow || c.kind == ConstraintKind::kLastRow) &&
        degree[c.expr] + 1 > air.max_constraint_degree) {
      return Error(cp + ".expr", absl::StrCat("degree ", degree[c.expr],
                                              " too high for a first- or last-row "
                                              "constraint (at most max_constraint_degree - 1 = ",
                                              air.max_constraint_degree - 1, ")"));
    }
    if (c.kind != ConstraintKind::kTransition && next[c.expr]) {
      return Error(cp + ".expr", "only transition constraints may read the next row");
    }
  }
  if (table.interactions.size() > limits.max_interactions) {
    return Error(tp + ".interactions",
                 absl::StrCat(table.interactions.size(), " interactions; at most ",
                              limits.max_interactions));
  }
  // Which nodes depend on a challenge: interaction expressions must not (the fingerprint
  // is built from base-field values; a challenge there would make it meaningless).
  std::vector<bool> uses_challenge(table.exprs.size(), false);
  for (size_t i = 0; i < table.exprs.size(); ++i) {
    const Expr& e = table.exprs[i];
    if (e.op == ExprOp::kChallenge) {
      uses_challenge[i] = true;
    } else if (e.op == ExprOp::kAdd || e.op == ExprOp::kSub || e.op == ExprOp::kMul) {
      uses_challenge[i] =
          (e.lhs < i && uses_challenge[e.lhs]) || (e.rhs < i && uses_challenge[e.rhs]);
    } else if (e.op == ExprOp::kNeg) {
      uses_challenge[i] = e.lhs < i && uses_challenge[e.lhs];
    }
  }
  for (size_t k = 0; k < table.interactions.size(); ++k) {
    const Interaction& in = table.interactions[k];
    const std::string ip = absl::StrCat(tp, ".interactions[", k, "]");
    if (in.values.empty() || in.values.size() > limits.max_tuple_len) {
      return Error(ip + ".values", absl::StrCat(in.values.size(), " values; must be in [1, ",
                                                limits.max_tuple_len, "]"));
    }
    auto check_operand = [&](uint32_t node, const std::string& path) -> absl::Status {
      if (auto s = CheckNodeRef(table, node, path); !s.ok()) return s;
      if (next[node]) return Error(path, "interaction expressions read the current row only");
      if (uses_challenge[node])
        return Error(path, "interaction expressions may not use challenges");
      // A LogUp term m / (beta - sum alpha^i v_i) needs degree(m) + 1 and degree(v) + 1
      // within the AIR's maximum (the helper column's constraint multiplies them).
      if (degree[node] + 1 > air.max_constraint_degree) {
        return Error(path, absl::StrCat("degree ", degree[node],
                                        " too high for a bus of an AIR "
                                        "with maximum degree ",
                                        air.max_constraint_degree));
      }
      return absl::OkStatus();
    };
    for (size_t v = 0; v < in.values.size(); ++v) {
      if (auto s = check_operand(in.values[v], absl::StrCat(ip, ".values[", v, "]")); !s.ok()) {
        return s;
      }
    }
    if (auto s = check_operand(in.multiplicity, ip + ".multiplicity"); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Canonical encoding for the digest.
struct Encoder {
  std::vector<uint8_t> out;
  void U64(uint64_t v) {
    uint8_t b[8];
    StoreU64LE(v, b);
    out.insert(out.end(), b, b + 8);
  }
  void Str(const std::string& s) {
    U64(s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
};

}  // namespace

absl::Status Validate(const Air& air, const AirLimits& limits) {
  if (air.tables.empty() || air.tables.size() > limits.max_tables) {
    return Error("tables", absl::StrCat(air.tables.size(), " tables; must be in [1, ",
                                        limits.max_tables, "]"));
  }
  if (air.max_constraint_degree < 2 || air.max_constraint_degree > limits.max_constraint_degree) {
    return Error("max_constraint_degree", absl::StrCat(air.max_constraint_degree, " outside [2, ",
                                                       limits.max_constraint_degree, "]"));
  }
  if (air.public_inputs.size() > limits.max_public_inputs) {
    return Error("public_inputs", absl::StrCat(air.public_inputs.size(), " public inputs; at most ",
                                               limits.max_public_inputs));
  }
  if (auto s = CheckName(air.name, "name", limits); !s.ok()) return s;
  for (size_t i = 0; i < air.public_inputs.size(); ++i) {
    if (auto s = CheckName(air.public_inputs[i], absl::StrCat("public_inputs[", i, "]"), limits);
        !s.ok()) {
      return s;
    }
  }
  uint64_t total_exprs = 0;
  for (const Table& table : air.tables) total_exprs += table.exprs.size();
  if (total_exprs > limits.max_total_exprs) {
    return Error("tables", absl::StrCat(total_exprs, " expression nodes in all; at most ",
                                        limits.max_total_exprs));
  }
  for (size_t t = 0; t < air.tables.size(); ++t) {
    if (auto s = ValidateTable(air, air.tables[t], t, limits); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::vector<uint32_t> NodeDegrees(const Table& table) {
  std::vector<uint32_t> d(table.exprs.size(), 0);
  for (size_t i = 0; i < table.exprs.size(); ++i) {
    const Expr& e = table.exprs[i];
    switch (e.op) {
      case ExprOp::kColumn:
        d[i] = 1;
        break;
      case ExprOp::kAdd:
      case ExprOp::kSub:
        d[i] = std::max(d[e.lhs], d[e.rhs]);
        break;
      case ExprOp::kMul:
        d[i] = uint32_t(std::min<uint64_t>(uint64_t{d[e.lhs]} + d[e.rhs], UINT32_MAX));
        break;
      case ExprOp::kNeg:
        d[i] = d[e.lhs];
        break;
      default:
        d[i] = 0;
    }
  }
  return d;
}

namespace {

// Per node: leaf(e) for a leaf, for any other node whether one of its operands has the flag.
template <typename Leaf>
std::vector<bool> FlagFromLeaves(const Table& table, Leaf leaf) {
  std::vector<bool> f(table.exprs.size(), false);
  for (size_t i = 0; i < table.exprs.size(); ++i) {
    const Expr& e = table.exprs[i];
    switch (e.op) {
      case ExprOp::kAdd:
      case ExprOp::kSub:
      case ExprOp::kMul:
        f[i] = f[e.lhs] || f[e.rhs];
        break;
      case ExprOp::kNeg:
        f[i] = f[e.lhs];
        break;
      default:
        f[i] = leaf(e);
        break;
    }
  }
  return f;
}

}  // namespace

std::vector<bool> NodeUsesNextRow(const Table& table) {
  return FlagFromLeaves(table,
                        [](const Expr& e) { return e.op == ExprOp::kColumn && e.row_offset == 1; });
}

std::vector<bool> NodeIsExtension(const Table& table) {
  return FlagFromLeaves(table, [](const Expr& e) { return e.op == ExprOp::kChallenge; });
}

std::vector<bool> NodesNeeded(const Table& table, std::span<const uint32_t> roots) {
  std::vector<bool> needed(table.exprs.size(), false);
  for (uint32_t r : roots) needed[r] = true;
  // Operands precede their users, so one backward sweep marks every dependency.
  for (size_t i = table.exprs.size(); i-- > 0;) {
    if (!needed[i]) continue;
    const Expr& e = table.exprs[i];
    if (e.op == ExprOp::kAdd || e.op == ExprOp::kSub || e.op == ExprOp::kMul) {
      needed[e.lhs] = needed[e.rhs] = true;
    } else if (e.op == ExprOp::kNeg) {
      needed[e.lhs] = true;
    }
  }
  return needed;
}

std::vector<uint8_t> AirEncoding(const Air& air) {
  Encoder enc;
  enc.Str("prover.air.v1");
  enc.Str(air.name);
  enc.U64(air.max_constraint_degree);
  enc.U64(air.public_inputs.size());
  for (const auto& p : air.public_inputs) enc.Str(p);
  enc.U64(air.tables.size());
  for (const Table& t : air.tables) {
    enc.Str(t.name);
    enc.U64(t.num_columns);
    enc.U64(t.column_names.size());
    for (const auto& c : t.column_names) enc.Str(c);
    enc.U64(static_cast<uint64_t>(static_cast<int64_t>(t.fixed_log_rows)));
    enc.U64(t.exprs.size());
    for (const Expr& e : t.exprs) {
      enc.U64(static_cast<uint64_t>(e.op));
      enc.U64(e.value);
      enc.U64(e.row_offset);
      enc.U64(e.lhs);
      enc.U64(e.rhs);
    }
    enc.U64(t.constraints.size());
    for (const Constraint& c : t.constraints) {
      enc.U64(static_cast<uint64_t>(c.kind));
      enc.U64(c.expr);
      enc.Str(c.name);
    }
    enc.U64(t.interactions.size());
    for (const Interaction& in : t.interactions) {
      enc.U64(in.bus);
      enc.U64(in.values.size());
      for (uint32_t v : in.values) enc.U64(v);
      enc.U64(in.multiplicity);
    }
  }
  return std::move(enc.out);
}

Digest AirDigest(const Air& air) { return Keccak256(AirEncoding(air)); }

}  // namespace prover::air
