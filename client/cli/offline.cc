#include "client/cli/offline.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "client/cli/common.h"
#include "engine/air/air_proto.h"
#include "engine/air/checker.h"
#include "engine/air/workloads/builtin.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/select_backend.h"
#include "engine/protocol/security.h"
#include "engine/protocol/shape.h"
#include "engine/stark/prover.h"
#include "engine/stark/verifier.h"
#include "tbb/global_control.h"

namespace prover::cli {
namespace {

const std::vector<std::string> kWorkloadFlags = {"workload", "log-rows", "scale",        "seed",
                                                 "air",      "trace",    "public-inputs"};

// The AIR, the public inputs and (when need_trace or for builtin workloads) the trace.
absl::StatusOr<air::WorkloadInstance> LoadInputs(const Flags& f, bool need_trace) {
  if (f.Has("workload")) {
    if (f.Has("air") || f.Has("trace")) {
      return absl::InvalidArgumentError("--workload and --air/--trace are exclusive");
    }
    const std::string name = f.Get("workload");
    const air::BuiltinWorkload* wl = air::FindWorkload(name);
    if (wl == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--workload: unknown workload '", name, "' (", air::WorkloadNames(), ")"));
    }
    // The sizing flag (--log-rows or --scale; --log-rows also sizes a workload by scale).
    std::string key = wl->size_name;
    std::replace(key.begin(), key.end(), '_', '-');
    if (!f.Has(key) && f.Has("log-rows")) key = "log-rows";
    if (!f.Has(key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          wl->name, " needs --", wl->size_name == std::string("scale") ? "scale K" : "log-rows N"));
    }
    auto size = f.GetU64(key, 0);
    if (!size.ok()) return size.status();
    auto seed = f.GetU64("seed", 0);
    if (!seed.ok()) return seed.status();
    if (*seed != 0 && !wl->takes_seed) {
      return absl::InvalidArgumentError(absl::StrCat("--seed: ", wl->name, " takes no seed"));
    }
    absl::StatusOr<air::WorkloadInstance> w = wl->make(int(std::min<uint64_t>(*size, 1000)), *seed);
    if (!w.ok()) return w.status();
    if (f.Has("public-inputs")) {
      auto pi = ParsePublicInputs(f.Get("public-inputs"));
      if (!pi.ok()) return pi.status();
      w->public_inputs = *pi;
    }
    return w;
  }
  if (!f.Has("air")) return absl::InvalidArgumentError("give --workload or --air");
  air::WorkloadInstance w;
  auto json = ReadFile(f.Get("air"));
  if (!json.ok()) return json.status();
  auto a = air::AirFromJson(*json);
  if (!a.ok()) {
    return InputError(
        absl::InvalidArgumentError(absl::StrCat(f.Get("air"), ": ", a.status().message())));
  }
  w.air = *std::move(a);
  if (!f.Has("public-inputs")) return absl::InvalidArgumentError("--air needs --public-inputs");
  auto pi = ParsePublicInputs(f.Get("public-inputs"));
  if (!pi.ok()) return pi.status();
  w.public_inputs = *pi;
  if (need_trace) {
    if (!f.Has("trace")) return absl::InvalidArgumentError("--air needs --trace TRACE.bin");
    auto bytes = ReadFile(f.Get("trace"));
    if (!bytes.ok()) return bytes.status();
    auto trace =
        air::DecodeTrace(std::span(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()));
    if (!trace.ok()) {
      return InputError(
          absl::InvalidArgumentError(absl::StrCat(f.Get("trace"), ": ", trace.status().message())));
    }
    w.trace = *std::move(trace);
  }
  return w;
}

std::unique_ptr<tbb::global_control> ThreadLimit(const Flags& f) {
  auto t = f.GetU64("threads", 0);
  if (!t.ok() || *t == 0) return nullptr;
  return std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, *t);
}

// A JSON string literal (quotes included).
std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A floor past what any figure reaches is a typo (and must not wrap around to 0).
absl::Status FloorInRange(uint64_t conjectured, uint64_t proven) {
  if (conjectured > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("--min-security: ", conjectured, " bits; at most 256"));
  }
  if (proven > stark::kHashSecurityBits) {
    return absl::InvalidArgumentError(absl::StrCat("--min-proven-security: ", proven,
                                                   " bits; at most ", stark::kHashSecurityBits));
  }
  return absl::OkStatus();
}

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

int RunProve(const std::vector<std::string>& args) {
  auto f =
      Flags::Parse(args, With(kWorkloadFlags, {"out", "blowup", "queries", "grinding", "arity",
                                               "final-size", "min-security", "min-proven-security",
                                               "security", "first-layer", "threads", "engine"}));
  if (!f.ok()) return Usage(f.status());
  if (!f->Has("out")) return Usage(absl::InvalidArgumentError("prove needs --out FILE"));
  if (!f->positional().empty()) {
    return Usage(
        absl::InvalidArgumentError(absl::StrCat("unexpected argument '", f->positional()[0], "'")));
  }
  auto params = ParseParams(*f);
  if (!params.ok()) return Usage(params.status());
  auto min_bits = f->GetU64("min-security", stark::kDefaultMinSecurityBits);
  if (!min_bits.ok()) return Usage(min_bits.status());
  auto min_proven = f->GetU64("min-proven-security", 0);
  if (!min_proven.ok()) return Usage(min_proven.status());
  if (auto s = FloorInRange(*min_bits, *min_proven); !s.ok()) return Usage(s);
  std::optional<stark::SecurityPreset> preset;
  if (f->Has("security")) {
    for (const char* flag : {"blowup", "queries", "grinding", "arity", "final-size"}) {
      if (f->Has(flag)) {
        return Usage(absl::InvalidArgumentError(
            absl::StrCat("--security chooses the parameters; it does not combine with --", flag)));
      }
    }
    auto p = stark::ParseSecurityPreset(f->Get("security"));
    if (!p.ok()) return Usage(p.status());
    preset = *p;
  }
  auto limit = ThreadLimit(*f);
  auto w = LoadInputs(*f, /*need_trace=*/true);
  if (!w.ok()) return Usage(w.status());
  stark::SecurityFloors floors{uint32_t(*min_bits), uint32_t(*min_proven)};
  {
    // The parameters are flags: a usage error (the statement's own problems are inputs).
    std::vector<int> log_rows;
    for (const auto& t : w->trace.tables) log_rows.push_back(t.log_rows());
    if (log_rows.size() == w->air.tables.size()) {
      if (preset.has_value()) {
        auto chosen = stark::ChoosePresetParams(*preset, w->air, log_rows);
        if (!chosen.ok()) return Usage(chosen.status());
        const stark::FirstLayer first = params->first_layer;  // not the preset's to choose
        *params = chosen->params;
        params->first_layer = first;
        floors.conjectured = std::max(floors.conjectured, chosen->floors.conjectured);
        floors.proven = std::max(floors.proven, chosen->floors.proven);
      }
      auto resolved = stark::ResolveParams(*params, w->air, log_rows);
      if (!resolved.ok()) return Usage(resolved.status());
      *params = *resolved;
      if (auto s = stark::CheckSecurity(*params, w->air, log_rows, floors); !s.ok()) {
        return Usage(s);
      }
    }
  }
  stark::ProveOptions options;
  options.params = *params;
  options.min_security_bits = floors.conjectured;
  options.min_proven_security_bits = floors.proven;
  const auto start = std::chrono::steady_clock::now();
  auto since = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // The stages that run: the up-front check only in that mode.
  const int first = options.trace_check == stark::TraceCheck::kUpFront ? 0 : 1;
  options.on_stage = [&](stark::Stage s) {
    std::fprintf(stderr, "prover: %7.3f s  %s (%d/%d)\n", since(),
                 std::string(stark::StageName(s)).c_str(), int(s) - first + 1,
                 int(stark::Stage::kCount) - first);
    return true;
  };
  auto backend = backend::MakeBackendByName(f->Get("engine", "cpu"));
  if (!backend.ok()) {
    std::fprintf(stderr, "prover: --engine: %s\n", std::string(backend.status().message()).c_str());
    // A name that is not an engine is a usage error; an engine that is not here (no GPU) is
    // the machine's answer.
    return backend.status().code() == absl::StatusCode::kInvalidArgument ? kUsageError
                                                                         : kServiceError;
  }
  auto result = stark::Prove(**backend, w->air, w->trace, w->public_inputs, options);
  if (!result.ok()) {
    std::fprintf(stderr, "prover: %s\n", std::string(result.status().message()).c_str());
    // A trace that breaks its AIR is the answer "no"; a statement that does not fit its AIR
    // (shapes, public inputs) is a bad input; anything else is the engine's failure.
    switch (result.status().code()) {
      case absl::StatusCode::kFailedPrecondition:
        return kNo;
      case absl::StatusCode::kInvalidArgument:
        return kInputError;
      default:
        return kServiceError;
    }
  }
  const std::vector<uint8_t> bytes = stark::EncodeProof(result->proof);
  if (auto s = WriteFileAtomically(f->Get("out"), bytes.data(), bytes.size()); !s.ok()) {
    return Usage(s);
  }
  std::fprintf(stderr,
               "prover: %7.3f s  done: %zu bytes, %u bits of conjectured and %u of proven "
               "security -> %s\n",
               since(), bytes.size(), result->proof.security_bits,
               result->proof.proven_security_bits, f->Get("out").c_str());
  return 0;
}

int RunVerify(const std::vector<std::string>& raw_args) {
  std::vector<std::string> args;
  for (const std::string& s : raw_args) {
    args.push_back(s);
    if (s == "--json") args.push_back("true");  // a switch: give the parser its value
  }
  auto f = Flags::Parse(
      args, With(kWorkloadFlags, {"min-security", "min-proven-security", "threads", "json"}));
  if (!f.ok()) return Usage(f.status());
  if (f->positional().size() != 1) {
    return Usage(absl::InvalidArgumentError("verify needs exactly one PROOF file"));
  }
  auto min_bits = f->GetU64("min-security", stark::kDefaultMinSecurityBits);
  if (!min_bits.ok()) return Usage(min_bits.status());
  auto min_proven = f->GetU64("min-proven-security", 0);
  if (!min_proven.ok()) return Usage(min_proven.status());
  if (auto s = FloorInRange(*min_bits, *min_proven); !s.ok()) return Usage(s);
  auto limit = ThreadLimit(*f);
  auto w = LoadInputs(*f, /*need_trace=*/false);
  if (!w.ok()) return Usage(w.status());
  auto bytes = ReadFile(f->positional()[0]);
  if (!bytes.ok()) return Usage(bytes.status());  // an input error: exit 3
  stark::VerifyOptions options;
  options.min_security_bits = uint32_t(*min_bits);
  options.min_proven_security_bits = uint32_t(*min_proven);
  const auto start = std::chrono::steady_clock::now();
  const absl::Status s = stark::VerifyEncoded(
      w->air, w->public_inputs,
      std::span(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()), options);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (f->Has("json")) {
    // The fields of VerifyProofResponse (accepted, reason, security_bits,
    // proven_security_bits), and the time.
    auto decoded = stark::DecodeProof(
        std::span(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()));
    std::printf(
        "{\"accepted\": %s, \"reason\": %s, \"security_bits\": %u, \"proven_security_bits\": "
        "%u, \"verify_ms\": %.3f}\n",
        s.ok() ? "true" : "false", JsonString(std::string(s.message())).c_str(),
        decoded.ok() ? decoded->security_bits : 0u,
        decoded.ok() ? decoded->proven_security_bits : 0u, ms);
    return s.ok() ? kYes : kNo;
  }
  if (!s.ok()) {
    std::fprintf(stderr, "prover: %s\n", std::string(s.message()).c_str());
    std::printf("rejected\n");
    return kNo;
  }
  std::fprintf(stderr, "prover: verified in %.2f ms\n", ms);
  std::printf("accepted\n");
  return 0;
}

int RunCheck(const std::vector<std::string>& args) {
  auto f = Flags::Parse(args, With(kWorkloadFlags, {"max-failures", "threads"}));
  if (!f.ok()) return Usage(f.status());
  auto cap = f->GetU64("max-failures", 100);
  if (!cap.ok()) return Usage(cap.status());
  auto limit = ThreadLimit(*f);
  auto w = LoadInputs(*f, /*need_trace=*/true);
  if (!w.ok()) return Usage(w.status());
  if (auto s = air::Validate(w->air); !s.ok()) return Input(s);
  auto report = air::CheckTrace(w->air, w->trace, w->public_inputs, size_t(*cap));
  if (!report.ok()) return Input(report.status());
  if (report->ok()) {
    std::printf("ok: every constraint holds and every bus balances\n");
    return 0;
  }
  std::printf("%s", report->Describe(w->air).c_str());
  std::printf("%llu failing constraint evaluations, %llu unbalanced bus tuples\n",
              static_cast<unsigned long long>(report->failure_count),
              static_cast<unsigned long long>(report->imbalance_count));
  return kNo;
}

int RunInspect(const std::vector<std::string>& args) {
  auto f = Flags::Parse(args, {});
  if (!f.ok()) return Usage(f.status());
  if (f->positional().size() != 1)
    return Usage(absl::InvalidArgumentError("inspect needs one PROOF file"));
  auto bytes = ReadFile(f->positional()[0]);
  if (!bytes.ok()) return Usage(bytes.status());
  auto proof =
      stark::DecodeProof(std::span(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()));
  if (!proof.ok()) {
    std::fprintf(stderr, "prover: %s: %s\n", f->positional()[0].c_str(),
                 std::string(proof.status().message()).c_str());
    return kInputError;
  }
  const stark::Proof& p = *proof;
  const stark::ProofSizeBreakdown sz = stark::MeasureProof(p);
  std::string tables;
  for (size_t t = 0; t < p.tables.size(); ++t) {
    absl::StrAppend(&tables, t == 0 ? "" : ", ", "{\"log_rows\": ", p.tables[t].log_rows,
                    ", \"bus_interactions\": ", p.tables[t].has_aux ? "true" : "false", "}");
  }
  std::printf(
      "{\n  \"version\": %u,\n  \"params\": {\"blowup\": %u, \"queries\": %u, \"grinding_bits\": "
      "%u, "
      "\"fri_arity\": %u, \"final_size\": %u, \"first_layer\": \"%s\"},\n"
      "  \"security_bits\": %u,\n"
      "  \"proven_security_bits\": %u,\n  \"tables\": [%s],\n"
      "  \"fri_layers\": %zu,\n  \"final_poly_coefficients\": %zu,\n  \"pow_nonce\": %llu,\n"
      "  \"bytes\": {\"total\": %zu, \"commitments\": %zu, \"ood\": %zu, \"trace_openings\": %zu, "
      "\"trace_paths\": %zu, \"fri_openings\": %zu, \"fri_paths\": %zu, \"final_poly\": %zu}\n}\n",
      p.version, 1u << p.params.log_blowup, p.params.num_queries, p.params.grinding_bits,
      1u << p.params.log_fri_arity, 1u << p.params.log_final_size,
      p.params.first_layer == stark::FirstLayer::kVirtual ? "virtual" : "committed",
      p.security_bits, p.proven_security_bits, tables.c_str(), p.fri_layers.size(),
      p.final_poly.size(), static_cast<unsigned long long>(p.pow_nonce), sz.total, sz.commitments,
      sz.ood, sz.trace_openings, sz.trace_paths, sz.fri_openings, sz.fri_paths, sz.final_poly);
  return 0;
}

int RunExport(const std::vector<std::string>& args) {
  auto f = Flags::Parse(args, With(kWorkloadFlags, {"air-out", "trace-out", "public-inputs-out"}));
  if (!f.ok()) return Usage(f.status());
  if (!f->Has("workload")) return Usage(absl::InvalidArgumentError("export needs --workload"));
  auto w = LoadInputs(*f, /*need_trace=*/true);
  if (!w.ok()) return Usage(w.status());
  if (f->Has("air-out")) {
    const std::string json = air::AirToJson(w->air);
    if (auto s = WriteFileAtomically(f->Get("air-out"), json.data(), json.size()); !s.ok())
      return Usage(s);
  }
  if (f->Has("trace-out")) {
    const std::vector<uint8_t> bytes = air::EncodeTrace(w->trace);
    if (auto s = WriteFileAtomically(f->Get("trace-out"), bytes.data(), bytes.size()); !s.ok())
      return Usage(s);
  }
  std::string pi;
  for (size_t i = 0; i < w->public_inputs.size(); ++i) {
    absl::StrAppend(&pi, i == 0 ? "" : ",", w->public_inputs[i].value());
  }
  pi += "\n";
  if (f->Has("public-inputs-out")) {
    if (auto s = WriteFileAtomically(f->Get("public-inputs-out"), pi.data(), pi.size()); !s.ok())
      return Usage(s);
  } else {
    std::printf("%s", pi.c_str());
  }
  return 0;
}

}  // namespace prover::cli
