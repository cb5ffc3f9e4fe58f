#include "client/cli/remote.h"

#include <chrono>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli/common.h"
#include "engine/air/air_proto.h"
#include "google/protobuf/util/json_util.h"

namespace prover::cli {
namespace {

// One line with the gRPC code. The server refusing the request as invalid is an input error
// (exit 3); the server unreachable, refusing the caller, or failing, a service error (4).
int Fail(const absl::Status& s) {
  std::fprintf(stderr, "prover: %s: %s\n", absl::StatusCodeToString(s.code()).c_str(),
               std::string(s.message()).c_str());
  if (IsInputError(s)) return kInputError;
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return kInputError;
    default:
      return kServiceError;
  }
}

std::string Describe(const v1::Job& j) {
  std::string s = absl::StrFormat("%s %s", j.job_id(), v1::JobState_Name(j.state()));
  if (j.state() == v1::RUNNING) {
    absl::StrAppendFormat(&s, " %s %.0f%%", j.stage(), 100 * j.progress());
  }
  if (j.state() == v1::FAILED) {
    absl::StrAppendFormat(&s, " %s: %s", v1::FailureCause_Name(j.cause()), j.error());
  }
  if (j.state() == v1::SUCCEEDED) {
    absl::StrAppendFormat(&s, " %d bytes, %d bits (%d proven), %.3f s on %s", j.proof_bytes(),
                          j.security_bits(), j.proven_security_bits(), j.prove_seconds(),
                          j.engine());
  }
  return s;
}

// --json: the proto3 JSON mapping of the message, field names as in the .proto, every field
// present (zeros included, so the schema does not depend on the values), 64-bit integers as
// strings (the mapping's rule). `compact`: one line (watch prints one object per update).
std::string Json(const google::protobuf::Message& m, bool compact = false) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = !compact;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

int ExitFor(const v1::Job& j) { return j.state() == v1::SUCCEEDED ? kYes : kNo; }

int Fetch(client::ProverClient& c, const std::string& id, const std::string& out) {
  auto proof = c.FetchProof(id);
  if (!proof.ok()) return Fail(proof.status());
  if (auto s = WriteFileAtomically(out, proof->data(), proof->size()); !s.ok()) return Usage(s);
  std::fprintf(stderr, "prover: %zu bytes (sha256 verified) -> %s\n", proof->size(), out.c_str());
  return 0;
}

// The submit request from the same workload flags the offline commands take.
absl::StatusOr<v1::SubmitProofRequest> BuildRequest(const Flags& f) {
  v1::SubmitProofRequest r;
  if (f.Has("workload")) {
    if (f.Has("air") || f.Has("trace")) {
      return absl::InvalidArgumentError("--workload and --air/--trace are exclusive");
    }
    v1::BuiltinStatement* b = r.mutable_builtin();
    b->set_workload(f.Get("workload"));
    auto rows = f.GetU64("log-rows", 0);
    auto scale = f.GetU64("scale", 0);
    auto seed = f.GetU64("seed", 0);
    for (const absl::Status& s : {rows.status(), scale.status(), seed.status()}) {
      if (!s.ok()) return s;
    }
    b->set_log_rows(uint32_t(std::min<uint64_t>(*rows, 1u << 30)));
    b->set_scale(uint32_t(std::min<uint64_t>(*scale, 1u << 30)));
    b->set_seed(*seed);
  } else if (f.Has("air")) {
    if (!f.Has("trace") || !f.Has("public-inputs")) {
      return absl::InvalidArgumentError("--air needs --trace TRACE.bin and --public-inputs");
    }
    auto json = ReadFile(f.Get("air"));
    if (!json.ok()) return json.status();
    auto a = air::AirFromJson(*json);
    if (!a.ok()) {
      return InputError(
          absl::InvalidArgumentError(absl::StrCat(f.Get("air"), ": ", a.status().message())));
    }
    *r.mutable_user()->mutable_air() = air::AirToProto(*a);
    auto trace = ReadFile(f.Get("trace"));
    if (!trace.ok()) return trace.status();
    r.mutable_user()->set_trace(*std::move(trace));
    auto pi = ParsePublicInputs(f.Get("public-inputs"));
    if (!pi.ok()) return pi.status();
    for (Fp x : *pi) r.mutable_user()->add_public_inputs(x.value());
  } else {
    return absl::InvalidArgumentError("give --workload or --air");
  }
  if (f.Has("security")) {
    // The server chooses the parameters of the preset for the statement's heights.
    r.mutable_options()->set_security(f.Get("security"));
  }
  if (f.Has("first-layer")) {
    auto first = ParseFirstLayer(f);
    if (!first.ok()) return first.status();
    r.mutable_options()->set_first_fri_layer(
        *first == stark::FirstLayer::kVirtual     ? v1::FIRST_FRI_LAYER_VIRTUAL
        : *first == stark::FirstLayer::kCommitted ? v1::FIRST_FRI_LAYER_COMMITTED
                                                  : v1::FIRST_FRI_LAYER_AUTO);
  }
  if (f.Has("blowup") || f.Has("queries") || f.Has("grinding") || f.Has("arity") ||
      f.Has("final-size")) {
    auto p = ParseParams(f);
    if (!p.ok()) return p.status();
    v1::ProofOptions* o = r.mutable_options();
    o->set_log_blowup(p->log_blowup);
    o->set_num_queries(p->num_queries);
    o->set_grinding_bits(p->grinding_bits);
    o->set_log_fri_arity(p->log_fri_arity);
    o->set_log_final_size(p->log_final_size);
  }
  if (f.Has("request-id")) r.set_request_id(f.Get("request-id"));
  auto deadline = f.GetU64("deadline-ms", 0);
  if (!deadline.ok()) return deadline.status();
  r.set_deadline_ms(*deadline);
  if (f.Has("priority")) {
    const std::string p = f.Get("priority");
    int v = 0;
    if (!absl::SimpleAtoi(p, &v)) {
      return absl::InvalidArgumentError(absl::StrCat("--priority: '", p, "' is not an integer"));
    }
    r.set_priority(v);
  }
  return r;
}

void Progress(const v1::Job& j, bool tty) {
  if (j.state() == v1::RUNNING) {
    const int width = 30, filled = int(j.progress() * width + 0.5);
    std::fprintf(stderr, "%s%s [%s%s] %3.0f%% %-12s%s", tty ? "\r" : "", j.job_id().c_str(),
                 std::string(size_t(filled), '#').c_str(),
                 std::string(size_t(width - filled), '.').c_str(), 100 * j.progress(),
                 j.stage().c_str(), tty ? "" : "\n");
  } else {
    std::fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", Describe(j).c_str());
  }
  std::fflush(stderr);
}

}  // namespace

bool IsRemoteCommand(const std::string& c) {
  for (const char* r : {"submit", "status", "wait", "watch", "cancel", "list", "fetch", "info",
                        "nodes", "health"}) {
    if (c == r) return true;
  }
  return false;
}

int RunRemote(const std::string& command, const client::ClientOptions& options,
              const std::vector<std::string>& args) {
  std::vector<std::string> known;
  if (command == "submit") {
    known = {"workload",      "log-rows",    "scale",      "seed",     "air",         "trace",
             "public-inputs", "blowup",      "queries",    "grinding", "arity",       "final-size",
             "security",      "first-layer", "request-id", "priority", "deadline-ms", "wait",
             "out",           "timeout-s",   "json"};
  } else if (command == "wait") {
    known = {"timeout-s", "out", "json"};
  } else if (command == "cancel" || command == "watch") {
    known = {"json"};
  } else if (command == "list") {
    known = {"state", "workload", "page-size", "page-token", "json"};
  } else if (command == "fetch") {
    known = {"out"};
  } else if (command == "status" || command == "nodes") {
    known = {"json"};
  }
  // --wait and --json take no value: give them one for the parser.
  std::vector<std::string> a;
  for (const std::string& s : args) {
    a.push_back(s);
    if (s == "--wait" || s == "--json") a.push_back("true");
  }
  auto f = Flags::Parse(a, known);
  if (!f.ok()) return Usage(f.status());
  const size_t want_positional = (command == "submit" || command == "list" || command == "info" ||
                                  command == "nodes" || command == "health")
                                     ? 0
                                     : 1;
  if (f->positional().size() != want_positional) {
    return Usage(absl::InvalidArgumentError(
        want_positional ? absl::StrCat(command, " needs a JOB id")
                        : absl::StrCat("unexpected argument '", f->positional()[0], "'")));
  }
  const std::string id = want_positional ? f->positional()[0] : "";
  auto c = client::ProverClient::Connect(options);
  if (!c.ok()) return Usage(c.status());
  client::ProverClient& cl = **c;
  auto timeout = f->GetU64("timeout-s", 24 * 3600);
  if (!timeout.ok()) return Usage(timeout.status());

  if (command == "health") {
    auto h = cl.Healthy();
    if (!h.ok()) return Fail(h.status());
    std::printf("%s\n", *h ? "SERVING" : "NOT_SERVING");
    return *h ? 0 : 1;
  }
  if (command == "info") {
    auto info = cl.ServerInfo();
    if (!info.ok()) return Fail(info.status());
    std::printf("%s\n", Json(*info).c_str());
    return 0;
  }
  const bool json = f->Has("json");
  if (command == "nodes") {
    auto info = cl.ServerInfo();
    if (!info.ok()) return Fail(info.status());
    if (json) {
      for (const v1::NodeInfo& n : info->nodes()) std::printf("%s\n", Json(n, true).c_str());
      return 0;
    }
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::printf("%-28s %-22s %-16s %10s %9s  %s\n", "NODE", "ADDRESS", "ENGINES", "MEMORY",
                "HEARTBEAT", "STATE");
    for (const v1::NodeInfo& n : info->nodes()) {
      std::printf("%-28s %-22s %-16s %7.1f GiB %7.1f s  %s%s\n", n.id().c_str(),
                  n.address().c_str(), absl::StrJoin(n.engines(), ",").c_str(),
                  double(n.memory_budget_bytes()) / double(1ull << 30),
                  double(now - n.heartbeat_unix_ms()) / 1e3, n.draining() ? "draining" : "serving",
                  n.id() == info->node_id() ? " (answered)" : "");
    }
    return 0;
  }
  if (command == "submit") {
    auto req = BuildRequest(*f);
    if (!req.ok()) return Usage(req.status());
    auto resp = cl.Submit(*req);
    if (!resp.ok()) return Fail(resp.status());
    const std::string job_id = resp->job().job_id();
    if (resp->deduplicated())
      std::fprintf(stderr, "prover: an earlier submission of this request\n");
    if (!f->Has("wait") && !f->Has("out")) {
      // --json: the SubmitProofResponse (the queued job and `deduplicated`).
      std::printf("%s\n", json ? Json(*resp).c_str() : job_id.c_str());
      return 0;
    }
    auto job = cl.WaitFinal(job_id, std::chrono::seconds(*timeout));
    if (!job.ok()) return Fail(job.status());
    std::fprintf(stderr, "%s\n", Describe(*job).c_str());
    int rc = ExitFor(*job);
    if (rc == 0 && f->Has("out")) rc = Fetch(cl, job_id, f->Get("out"));
    // --json with --wait: the final Job.
    std::printf("%s\n", json ? Json(*job).c_str() : job_id.c_str());
    return rc;
  }
  if (command == "status") {
    auto job = cl.GetJob(id);
    if (!job.ok()) return Fail(job.status());
    std::printf("%s\n", json ? Json(*job).c_str() : Describe(*job).c_str());
    return 0;
  }
  if (command == "wait") {
    auto job = cl.WaitFinal(id, std::chrono::seconds(*timeout));
    if (!job.ok()) return Fail(job.status());
    std::printf("%s\n", json ? Json(*job).c_str() : Describe(*job).c_str());
    int rc = ExitFor(*job);
    if (rc == 0 && f->Has("out")) rc = Fetch(cl, id, f->Get("out"));
    return rc;
  }
  if (command == "watch") {
    // --json: one Job per line (JSON lines) for every update, the final state last; the
    // progress bar stays on stderr.
    const bool tty = isatty(2);
    v1::Job last;
    const absl::Status s = cl.Watch(id, [&](const v1::Job& j) {
      last = j;
      if (json) {
        std::printf("%s\n", Json(j, /*compact=*/true).c_str());
        std::fflush(stdout);
      } else {
        Progress(j, tty);
      }
    });
    if (!s.ok()) return Fail(s);
    if (!json) std::printf("%s\n", Describe(last).c_str());
    return ExitFor(last);
  }
  if (command == "cancel") {
    auto job = cl.Cancel(id);
    if (!job.ok()) return Fail(job.status());
    std::printf("%s\n", json ? Json(*job).c_str() : Describe(*job).c_str());
    return 0;
  }
  if (command == "fetch") {
    if (!f->Has("out")) return Usage(absl::InvalidArgumentError("fetch needs --out FILE"));
    return Fetch(cl, id, f->Get("out"));
  }
  if (command == "list") {
    v1::ListJobsRequest req;
    if (f->Has("state")) {
      v1::JobState st;
      const std::string state = absl::AsciiStrToUpper(f->Get("state"));  // succeeded works too
      if (!v1::JobState_Parse(state, &st) || st == v1::JOB_STATE_UNSPECIFIED) {
        return Usage(
            absl::InvalidArgumentError("--state: QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED"));
      }
      req.add_states(st);
    }
    req.set_workload(f->Get("workload"));
    auto size = f->GetU64("page-size", 0);
    if (!size.ok()) return Usage(size.status());
    req.set_page_size(uint32_t(std::min<uint64_t>(*size, 1u << 20)));
    req.set_page_token(f->Get("page-token"));
    auto resp = cl.List(req);
    if (!resp.ok()) return Fail(resp.status());
    if (json) {
      std::printf("%s\n", Json(*resp).c_str());
      return 0;
    }
    for (const v1::Job& j : resp->jobs()) std::printf("%s\n", Describe(j).c_str());
    if (!resp->next_page_token().empty()) {
      std::fprintf(stderr, "prover: more: --page-token %s\n", resp->next_page_token().c_str());
    }
    return 0;
  }
  return Usage(absl::InvalidArgumentError(absl::StrCat("unknown command '", command, "'")));
}

}  // namespace prover::cli
