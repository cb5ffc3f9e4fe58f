#include "server/request.h"

#include "absl/strings/str_cat.h"
#include "engine/air/air_proto.h"
#include "engine/air/checker.h"
#include "engine/air/workloads/builtin.h"
#include "engine/protocol/security.h"
#include "engine/protocol/shape.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "server/sha256.h"

namespace prover::server {
namespace {

absl::Status Bad(std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(path), ": ", std::string(what)));
}

absl::Status Prefix(std::string_view prefix, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(std::string(prefix), s.message()));
}

bool ValidRequestId(std::string_view id) {
  if (id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string DeterministicBytes(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

}  // namespace

std::string Excerpt(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  return absl::StrCat(std::string(s.substr(0, max)), "... (", s.size(), " bytes)");
}

namespace {

stark::FirstLayer FirstLayerOf(const v1::ProofOptions& o) {
  switch (o.first_fri_layer()) {
    case v1::FIRST_FRI_LAYER_COMMITTED:
      return stark::FirstLayer::kCommitted;
    case v1::FIRST_FRI_LAYER_VIRTUAL:
      return stark::FirstLayer::kVirtual;
    default:
      return stark::FirstLayer::kAuto;
  }
}

}  // namespace

absl::StatusOr<stark::ProofParams> ParamsOf(const v1::ProofOptions& o, const air::Air& air,
                                            std::span<const int> log_rows) {
  if (!v1::FirstFriLayer_IsValid(o.first_fri_layer())) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.first_fri_layer: ", o.first_fri_layer(), " is not a FirstFriLayer"));
  }
  if (!o.security().empty()) {
    if (o.log_blowup() != 0 || o.num_queries() != 0 || o.has_grinding_bits() ||
        o.log_fri_arity() != 0 || o.has_log_final_size()) {
      return absl::InvalidArgumentError(
          "options.security: a preset chooses every parameter; leave the others unset");
    }
    auto preset = stark::ParseSecurityPreset(o.security());
    if (!preset.ok()) return Prefix("options.", preset.status());
    auto chosen = stark::ChoosePresetParams(*preset, air, log_rows);
    if (!chosen.ok()) return Prefix("options.", chosen.status());
    stark::ProofParams p = chosen->params;
    p.first_layer = FirstLayerOf(o);
    auto resolved = stark::ResolveParams(p, air, log_rows);
    if (!resolved.ok()) return Prefix("options.", resolved.status());
    return resolved;
  }
  stark::ProofParams p;
  p.first_layer = FirstLayerOf(o);
  if (o.log_blowup() != 0) p.log_blowup = o.log_blowup();
  if (o.num_queries() != 0) p.num_queries = o.num_queries();
  if (o.has_grinding_bits()) p.grinding_bits = o.grinding_bits();
  if (o.log_fri_arity() != 0) p.log_fri_arity = o.log_fri_arity();
  if (o.has_log_final_size()) p.log_final_size = o.log_final_size();
  auto resolved = stark::ResolveParams(p, air, log_rows);
  if (!resolved.ok()) return Prefix("options.", resolved.status());
  return resolved;
}

std::string ContentHash(const v1::SubmitProofRequest& request, std::string_view trace) {
  v1::SubmitProofRequest copy = request;
  copy.clear_request_id();
  if (copy.has_user()) copy.mutable_user()->clear_trace();
  Sha256 h;
  const std::string bytes = DeterministicBytes(copy);
  const uint64_t len = bytes.size();
  h.Update(&len, sizeof len);  // the boundary between request and trace is unambiguous
  h.Update(bytes);
  h.Update(trace);
  return h.FinalHex();
}

namespace {

const air::BuiltinWorkload* Workload(const v1::BuiltinStatement& b) {
  return air::FindWorkload(b.workload());
}

absl::Status UnknownWorkload(const v1::BuiltinStatement& b) {
  return Bad("builtin.workload", absl::StrCat("unknown workload '", Excerpt(b.workload()), "' (",
                                              air::WorkloadNames(), ")"));
}

// The size of a builtin statement, within the workload's range and the server's
// max_log_rows, with no field the workload does not take.
absl::StatusOr<int> BuiltinSize(const v1::BuiltinStatement& b, const air::BuiltinWorkload& w,
                                int max_log_rows) {
  const int size = WorkloadSize(b, w), max = std::min(w.max_size, max_log_rows);
  if (size < w.min_size || size > max) {
    return Bad(absl::StrCat("builtin.", w.size_name),
               absl::StrCat(size, " is outside [", w.min_size, ", ", max, "]"));
  }
  const bool by_log_rows = std::string(w.size_name) == "log_rows";
  const char* extra = (by_log_rows ? b.scale() : b.log_rows()) != 0
                          ? (by_log_rows ? "scale" : "log_rows")
                      : (!w.takes_seed && b.seed() != 0) ? "seed"
                                                         : nullptr;
  if (extra != nullptr) {
    return Bad(absl::StrCat("builtin.", extra),
               absl::StrCat(w.name, " takes ", w.size_name, w.takes_seed ? " and seed" : " only"));
  }
  return size;
}

}  // namespace

absl::StatusOr<air::Air> AirOf(const v1::SubmitProofRequest& request,
                               const air::AirLimits& limits) {
  if (request.has_builtin()) {
    const air::BuiltinWorkload* w = Workload(request.builtin());
    if (w == nullptr) return UnknownWorkload(request.builtin());
    return w->air();
  }
  if (request.has_user()) {
    auto a = air::AirFromProto(request.user().air(), limits);
    if (!a.ok()) return Prefix("user.air.", a.status());
    return a;
  }
  return Bad("statement", "one of builtin or user is required");
}

absl::Status CheckRequestSize(const v1::SubmitProofRequest& request, const RequestLimits& limits) {
  if (request.has_user()) {
    const uint64_t bytes = request.user().air().ByteSizeLong();
    if (bytes > limits.air.max_encoded_bytes) {
      return Bad("user.air",
                 absl::StrCat(bytes, " bytes encoded; at most ", limits.air.max_encoded_bytes));
    }
  }
  if (request.has_builtin() && request.builtin().workload().size() > 64) {
    return UnknownWorkload(request.builtin());
  }
  return absl::OkStatus();
}

absl::StatusOr<PreparedJob> PrepareJob(const v1::SubmitProofRequest& request,
                                       std::string_view trace, const RequestLimits& limits) {
  if (auto s = CheckRequestSize(request, limits); !s.ok()) return s;
  PreparedJob job;
  if (!ValidRequestId(request.request_id())) {
    return Bad("request_id", "at most 128 characters of [A-Za-z0-9._:-]");
  }
  if (request.priority() < -100 || request.priority() > 100) {
    return Bad("priority", absl::StrCat(request.priority(), " is outside [-100, 100]"));
  }
  if (request.deadline_ms() > limits.max_deadline_ms) {
    return Bad("deadline_ms", absl::StrCat("at most ", limits.max_deadline_ms));
  }
  if (request.has_user() && !request.user().trace().empty()) {
    return absl::InternalError("PrepareJob: the trace must be passed separately");
  }
  air::AirLimits air_limits = limits.air;
  air_limits.max_log_rows = std::min(air_limits.max_log_rows, limits.max_log_rows);
  auto air = AirOf(request, air_limits);
  if (!air.ok()) return air.status();

  if (request.has_builtin()) {
    if (!trace.empty()) return Bad("trace", "a builtin workload takes no trace");
    const v1::BuiltinStatement& b = request.builtin();
    job.workload = b.workload();
    auto size = BuiltinSize(b, *Workload(b), limits.max_log_rows);
    if (!size.ok()) return size.status();
    auto rows = Workload(b)->log_rows(*size);
    if (!rows.ok())
      return Prefix(absl::StrCat("builtin.", Workload(b)->size_name, ": "), rows.status());
    job.log_rows = *rows;
  } else {
    job.workload = "custom";
    const v1::UserStatement& u = request.user();
    if (trace.size() > limits.max_trace_bytes) {
      return Bad("user.trace", absl::StrCat(trace.size(), " bytes is more than the limit of ",
                                            limits.max_trace_bytes));
    }
    air::TraceLimits tl;
    tl.max_log_rows = limits.max_log_rows;
    auto decoded = air::DecodeTrace(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(trace.data()), trace.size()), tl);
    if (!decoded.ok()) return Prefix("user.", decoded.status());  // "user.trace: ..."
    auto publics = FieldElements(u.public_inputs(), "user.public_inputs");
    if (!publics.ok()) return publics.status();
    if (auto s = air::CheckShapes(*air, *decoded, *publics); !s.ok()) {
      return Prefix("user.", s);
    }
    for (const auto& t : decoded->tables) job.log_rows.push_back(t.log_rows());
  }

  auto params = ParamsOf(request.options(), *air, job.log_rows);
  if (!params.ok()) return params.status();
  job.params = *params;
  if (auto s = stark::CheckSecurity(job.params, *air, job.log_rows,
                                    {limits.min_security_bits, limits.min_proven_security_bits});
      !s.ok()) {
    return Prefix("options: ", s);
  }
  if (limits.max_proof_bytes != 0) {
    const uint64_t bound = stark::ProofBytesBound(*air, job.log_rows, job.params);
    if (bound > limits.max_proof_bytes) {
      return Bad("options",
                 absl::StrCat("the proof could take up to ", bound,
                              " bytes, more than the server serves (", limits.max_proof_bytes,
                              "); use fewer queries or columns, or split the tables"));
    }
  }
  job.air = *std::move(air);
  job.request = request;
  job.trace_bytes = trace.size();
  job.content_hash = ContentHash(request, trace);
  return job;
}

int WorkloadSize(const v1::BuiltinStatement& b, const air::BuiltinWorkload& w) {
  const uint32_t v = std::string(w.size_name) == "log_rows" ? b.log_rows() : b.scale();
  return int(std::min<uint32_t>(v, 1u << 20));
}

absl::StatusOr<air::WorkloadInstance> LoadStatement(const v1::SubmitProofRequest& request,
                                                    std::string_view trace) {
  if (request.has_builtin()) {
    const v1::BuiltinStatement& b = request.builtin();
    const air::BuiltinWorkload* w = Workload(b);
    if (w == nullptr) return UnknownWorkload(b);
    return w->make(WorkloadSize(b, *w), b.seed());
  }
  auto air = AirOf(request);
  if (!air.ok()) return air.status();
  air::WorkloadInstance w;
  w.air = *std::move(air);
  auto decoded = air::DecodeTrace(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(trace.data()), trace.size()));
  if (!decoded.ok()) return Prefix("user.", decoded.status());  // "user.trace: ..."
  w.trace = *std::move(decoded);
  auto publics = FieldElements(request.user().public_inputs(), "user.public_inputs");
  if (!publics.ok()) return publics.status();
  w.public_inputs = *std::move(publics);
  return w;
}

absl::StatusOr<std::vector<Fp>> FieldElements(
    const google::protobuf::RepeatedField<uint64_t>& values, std::string_view path) {
  std::vector<Fp> out;
  out.reserve(size_t(values.size()));
  for (int i = 0; i < values.size(); ++i) {
    if (values.Get(i) >= Fp::kModulus) {
      return Bad(absl::StrCat(std::string(path), "[", i, "]"),
                 absl::StrCat(values.Get(i), " is not a canonical field element"));
    }
    out.push_back(Fp::FromCanonical(values.Get(i)));
  }
  return out;
}

uint64_t EstimateJobBytes(const backend::Backend& backend, const air::Air& air,
                          const std::vector<int>& log_rows, const stark::ProofParams& params) {
  backend::JobSpec spec;
  spec.air = &air;
  spec.log_rows = log_rows;
  spec.log_blowup = int(params.log_blowup);
  uint64_t trace = 0;
  for (size_t t = 0; t < log_rows.size() && t < air.tables.size(); ++t) {
    trace += 8ull * air.tables[t].num_columns << log_rows[t];
  }
  // The trace is held twice at most (the decoded copy and the generator's output).
  return backend.EstimatePeakBytes(spec) + 2 * trace;
}

}  // namespace prover::server
