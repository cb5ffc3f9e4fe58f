// prover: the command-line tool. Offline commands (prove, verify, check, inspect, export)
// link only the engine; remote commands talk to proverd. See `prover help`.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "client/cli/offline.h"
#include "engine/base/build_info.h"
#ifdef PROVER_WITH_REMOTE
#include "client/cli/remote.h"
#include "grpc/support/log.h"
#endif

namespace {

// Each command's synopsis, as `prover help` lists it and `prover COMMAND --help` prints it.
struct Command {
  const char* name;
  bool remote;
  const char* usage;  // the lines after "prover NAME"
};

constexpr Command kCommands[] = {
    {"prove", false, R"(--workload fibonacci --log-rows N | --workload zkvm --scale K [--seed S]
           | --air AIR.json --trace TRACE.bin --public-inputs V1,V2,...|@FILE
           --out FILE [--blowup B] [--queries Q] [--grinding BITS] [--arity A]
           [--final-size F] [--first-layer auto|committed|virtual]
           [--min-security BITS] [--threads N]
           [--engine cpu|cuda|cuda:N]   (default cpu; same bytes on every engine)
)"},
    {"verify", false, R"((the same workload options) [--min-security BITS] [--json] PROOF
           exit 0 accepted, 1 rejected (the reason on stderr; with --json an object
           {accepted, reason, security_bits, verify_ms} on stdout)
)"},
    {"check", false, R"((the same workload options) [--max-failures N]
           constraints and buses row by row; exit 1 when anything fails
)"},
    {"inspect", false, R"(PROOF   parameters, security bits and section sizes as JSON
)"},
    {"export", false, R"((workload options) --air-out AIR.json --trace-out TRACE.bin
           [--public-inputs-out FILE]   write a builtin workload as user inputs
)"},
    {"submit", true, R"((workload options as for prove) [--request-id ID] [--priority P]
           [--deadline-ms MS] [--blowup ...] [--wait] [--timeout-s S] [--out FILE] [--json]
           prints the job id as its last line; --wait waits (at most --timeout-s),
           --out also downloads; --json: the response (or with --wait the final job)
)"},
    {"status", true, R"(JOB [--json]         the job's state, stage and progress
)"},
    {"wait", true, R"(JOB [--timeout-s S] [--out FILE] [--json]   until the job is final;
           exit 0 only when it SUCCEEDED
)"},
    {"watch", true, R"(JOB [--json]         live stage and progress until the job is final
           (--json: one job object per line, the final state last)
)"},
    {"cancel", true, R"(JOB [--json]
)"},
    {"list", true, R"([--state S] [--workload W] [--page-size N] [--page-token T] [--json]
)"},
    {"fetch", true, R"(JOB --out FILE       the proof, its SHA-256 checked
)"},
    {"info", true, R"(                     server version, engines, limits (JSON)
)"},
    {"nodes", true, R"([--json]             the cluster's live nodes (one node: the server alone)
)"},
    {"health", true, R"(                     grpc.health.v1 check (no key needed)
)"},
};

std::string Line(const Command& c) {
  std::string name = c.name;
  name.resize(8, ' ');
  return "  " + name + " " + c.usage;
}

std::string Usage() {
  std::string out = "usage: prover COMMAND [options]   (prover COMMAND --help: one command)\n\n";
  out += "Offline commands:\n";
  for (const Command& c : kCommands) {
    if (!c.remote) out += Line(c);
  }
  out += R"(
Defaults: blowup 8, queries 28, grinding 16, arity 8, final size 32, first layer auto (100 bits).

Remote commands: prover [--server HOST:PORT] [--api-key KEY] [--tls] [--tls-ca PEM]
                        [--tls-server-name NAME] COMMAND ...
  (PROVER_SERVER and PROVER_API_KEY work too)
)";
  for (const Command& c : kCommands) {
    if (c.remote) out += Line(c);
  }
  out += "\n  help, --help, -h     this text;  version, --version: the version and commit\n";
  out +=
      "\nExit status: 0 yes, 1 no (rejected, failing trace, job FAILED/CANCELLED), 2 usage "
      "error,\n3 input error (a file or value, or a request the server refused as invalid), 4 "
      "service error\n(unreachable, refused the caller, or failed).\n";
  return out;
}

const Command* Find(const std::string& name) {
  for (const Command& c : kCommands) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

bool WantsHelp(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(Usage().c_str(), stderr);
    return 2;
  }
  const std::string first = argv[1];
  if (first == "help" || first == "--help" || first == "-h") {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }
  if (first == "version" || first == "--version") {
    std::printf("prover %s (commit %s)\n", prover::BuildVersion(), prover::BuildCommit());
    return 0;
  }
  std::vector<std::string> all(argv + 1, argv + argc);
#ifdef PROVER_WITH_REMOTE
  // The CLI reports every failure itself, one line with the gRPC code: gRPC's own log lines
  // (a TLS handshake failure, say) would only repeat it in another format.
  gpr_set_log_function([](gpr_log_func_args*) {});
  // Connection options come before the command.
  prover::client::ClientOptions remote;
  if (const char* s = std::getenv("PROVER_SERVER")) remote.target = s;
  if (const char* k = std::getenv("PROVER_API_KEY")) remote.api_key = k;
  size_t i = 0;
  while (i < all.size() && all[i].rfind("--", 0) == 0) {
    const std::string& flag = all[i];
    if (flag == "--tls") {
      remote.tls = true;
      ++i;
      continue;
    }
    if (i + 1 >= all.size()) break;
    if (flag.rfind("--server=", 0) == 0) {  // --name=value, as every other flag takes
      remote.target = flag.substr(9);
      ++i;
      continue;
    }
    if (flag.rfind("--api-key=", 0) == 0) {
      remote.api_key = flag.substr(10);
      ++i;
      continue;
    }
    if (flag == "--server") {
      remote.target = all[i + 1];
    } else if (flag == "--api-key") {
      remote.api_key = all[i + 1];
    } else if (flag == "--tls-ca") {
      remote.tls_ca_file = all[i + 1];
      remote.tls = true;
    } else if (flag == "--tls-server-name") {
      remote.tls_server_name = all[i + 1];
    } else {
      break;
    }
    i += 2;
  }
  all.erase(all.begin(), all.begin() + long(i));
  if (all.empty()) {
    std::fputs(Usage().c_str(), stderr);
    return 2;
  }
  if (const Command* c = Find(all[0]); c != nullptr && WantsHelp(all)) {
    std::printf("usage: prover %s %s", c->name, c->usage);
    return 0;
  }
  if (prover::cli::IsRemoteCommand(all[0])) {
    return prover::cli::RunRemote(all[0], remote, {all.begin() + 1, all.end()});
  }
#endif
  const std::string command = all[0];
  const std::vector<std::string> args(all.begin() + 1, all.end());
  if (const Command* c = Find(command); c != nullptr && WantsHelp(all)) {
    std::printf("usage: prover %s %s", c->name, c->usage);
    return 0;
  }
  if (command == "prove") return prover::cli::RunProve(args);
  if (command == "verify") return prover::cli::RunVerify(args);
  if (command == "check") return prover::cli::RunCheck(args);
  if (command == "inspect") return prover::cli::RunInspect(args);
  if (command == "export") return prover::cli::RunExport(args);
  std::fprintf(stderr, "prover: unknown command '%s' (try `prover help`)\n", command.c_str());
  return 2;
}
