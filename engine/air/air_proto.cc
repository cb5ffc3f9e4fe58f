#include "engine/air/air_proto.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace prover::air {
namespace {

absl::Status Error(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

absl::StatusOr<Expr> ExprFromProto(const v1::Expr& e, const std::string& path) {
  switch (e.node_case()) {
    case v1::Expr::kConstant:
      return Expr{ExprOp::kConstant, e.constant(), 0, 0, 0};
    case v1::Expr::kColumn:
      return Expr::Column(e.column().index(), e.column().next() ? 1 : 0);
    case v1::Expr::kPublicInput:
      return Expr::PublicInput(e.public_input());
    case v1::Expr::kChallenge:
      return Expr::Challenge(e.challenge());
    case v1::Expr::kAdd:
      return Expr::Binary(ExprOp::kAdd, e.add().lhs(), e.add().rhs());
    case v1::Expr::kSub:
      return Expr::Binary(ExprOp::kSub, e.sub().lhs(), e.sub().rhs());
    case v1::Expr::kMul:
      return Expr::Binary(ExprOp::kMul, e.mul().lhs(), e.mul().rhs());
    case v1::Expr::kNeg:
      return Expr::Neg(e.neg());
    case v1::Expr::NODE_NOT_SET:
      break;
  }
  return Error(path,
               "no node set (constant, column, public_input, challenge, add, sub, mul "
               "or neg)");
}

absl::StatusOr<ConstraintKind> KindFromProto(v1::ConstraintKind k, const std::string& path) {
  switch (k) {
    case v1::EVERY_ROW:
      return ConstraintKind::kEveryRow;
    case v1::TRANSITION:
      return ConstraintKind::kTransition;
    case v1::FIRST_ROW:
      return ConstraintKind::kFirstRow;
    case v1::LAST_ROW:
      return ConstraintKind::kLastRow;
    default:
      return Error(path, "kind must be EVERY_ROW, TRANSITION, FIRST_ROW or LAST_ROW");
  }
}

v1::ConstraintKind KindToProto(ConstraintKind k) {
  switch (k) {
    case ConstraintKind::kEveryRow:
      return v1::EVERY_ROW;
    case ConstraintKind::kTransition:
      return v1::TRANSITION;
    case ConstraintKind::kFirstRow:
      return v1::FIRST_ROW;
    case ConstraintKind::kLastRow:
      return v1::LAST_ROW;
  }
  return v1::CONSTRAINT_KIND_UNSPECIFIED;
}

}  // namespace

absl::StatusOr<Air> AirFromProto(const v1::Air& proto, const AirLimits& limits) {
  // Bound the sizes before copying anything.
  if (const uint64_t bytes = proto.ByteSizeLong(); bytes > limits.max_encoded_bytes) {
    return Error("tables", absl::StrCat("the AIR encodes to ", bytes, " bytes; at most ",
                                        limits.max_encoded_bytes));
  }
  if (static_cast<uint32_t>(proto.tables_size()) > limits.max_tables) {
    return Error("tables",
                 absl::StrCat(proto.tables_size(), " tables; at most ", limits.max_tables));
  }
  Air air;
  air.name = proto.name();
  air.max_constraint_degree = proto.max_constraint_degree();
  air.public_inputs.assign(proto.public_inputs().begin(), proto.public_inputs().end());
  for (int t = 0; t < proto.tables_size(); ++t) {
    const v1::Table& pt = proto.tables(t);
    const std::string tp = absl::StrCat("tables[", t, "]");
    if (static_cast<uint32_t>(pt.exprs_size()) > limits.max_exprs) {
      return Error(tp + ".exprs",
                   absl::StrCat(pt.exprs_size(), " expressions; at most ", limits.max_exprs));
    }
    Table table;
    table.name = pt.name();
    table.num_columns = pt.num_columns();
    table.column_names.assign(pt.column_names().begin(), pt.column_names().end());
    table.fixed_log_rows = pt.has_fixed_log_rows() ? pt.fixed_log_rows() : -1;
    for (int i = 0; i < pt.exprs_size(); ++i) {
      auto e = ExprFromProto(pt.exprs(i), absl::StrCat(tp, ".exprs[", i, "]"));
      if (!e.ok()) return e.status();
      table.exprs.push_back(*e);
    }
    for (int k = 0; k < pt.constraints_size(); ++k) {
      const v1::Constraint& pc = pt.constraints(k);
      auto kind = KindFromProto(pc.kind(), absl::StrCat(tp, ".constraints[", k, "].kind"));
      if (!kind.ok()) return kind.status();
      table.constraints.push_back(Constraint{*kind, pc.expr(), pc.name()});
    }
    for (const v1::Interaction& pi : pt.interactions()) {
      table.interactions.push_back(
          Interaction{pi.bus(), {pi.values().begin(), pi.values().end()}, pi.multiplicity()});
    }
    air.tables.push_back(std::move(table));
  }
  if (auto s = Validate(air, limits); !s.ok()) return s;
  return air;
}

v1::Air AirToProto(const Air& air) {
  v1::Air p;
  p.set_name(air.name);
  p.set_max_constraint_degree(air.max_constraint_degree);
  for (const auto& name : air.public_inputs) p.add_public_inputs(name);
  for (const Table& t : air.tables) {
    v1::Table* pt = p.add_tables();
    pt->set_name(t.name);
    pt->set_num_columns(t.num_columns);
    for (const auto& c : t.column_names) pt->add_column_names(c);
    if (t.fixed_log_rows >= 0) pt->set_fixed_log_rows(t.fixed_log_rows);
    for (const Expr& e : t.exprs) {
      v1::Expr* pe = pt->add_exprs();
      switch (e.op) {
        case ExprOp::kConstant:
          pe->set_constant(e.value);
          break;
        case ExprOp::kColumn:
          pe->mutable_column()->set_index(static_cast<uint32_t>(e.value));
          pe->mutable_column()->set_next(e.row_offset == 1);
          break;
        case ExprOp::kPublicInput:
          pe->set_public_input(static_cast<uint32_t>(e.value));
          break;
        case ExprOp::kChallenge:
          pe->set_challenge(static_cast<uint32_t>(e.value));
          break;
        case ExprOp::kAdd:
          pe->mutable_add()->set_lhs(e.lhs), pe->mutable_add()->set_rhs(e.rhs);
          break;
        case ExprOp::kSub:
          pe->mutable_sub()->set_lhs(e.lhs), pe->mutable_sub()->set_rhs(e.rhs);
          break;
        case ExprOp::kMul:
          pe->mutable_mul()->set_lhs(e.lhs), pe->mutable_mul()->set_rhs(e.rhs);
          break;
        case ExprOp::kNeg:
          pe->set_neg(e.lhs);
          break;
      }
    }
    for (const Constraint& c : t.constraints) {
      v1::Constraint* pc = pt->add_constraints();
      pc->set_kind(KindToProto(c.kind));
      pc->set_expr(c.expr);
      pc->set_name(c.name);
    }
    for (const Interaction& in : t.interactions) {
      v1::Interaction* pi = pt->add_interactions();
      pi->set_bus(in.bus);
      for (uint32_t v : in.values) pi->add_values(v);
      pi->set_multiplicity(in.multiplicity);
    }
  }
  return p;
}

absl::StatusOr<Air> AirFromJson(std::string_view json, const AirLimits& limits) {
  v1::Air proto;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &proto, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("air json: ", status.ToString()));
  }
  return AirFromProto(proto, limits);
}

std::string AirToJson(const Air& air) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(AirToProto(air), &out, options);
  return out;
}

}  // namespace prover::air
