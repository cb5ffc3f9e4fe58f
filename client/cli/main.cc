// prover: the command-line tool. Offline commands (prove, verify, check, inspect, export)
// link only the engine; remote commands talk to proverd. See `prover help`.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "client/cli/offline.h"
#ifdef PROVER_WITH_REMOTE
#include "client/cli/remote.h"
#endif

namespace {

constexpr char kUsage[] = R"(usage: prover COMMAND [options]

Offline commands:
  prove    --workload fibonacci --log-rows N | --workload zkvm --scale K [--seed S]
           | --air AIR.json --trace TRACE.bin --public-inputs V1,V2,...|@FILE
           --out FILE [--blowup B] [--queries Q] [--grinding BITS] [--arity A]
           [--final-size F] [--min-security BITS] [--threads N]
           [--engine cpu|cuda|cuda:N]   (default cpu; same bytes on every engine)
  verify   (the same workload options) [--min-security BITS] PROOF
           exit 0 accepted, 1 rejected (the reason on stderr)
  check    (the same workload options) [--max-failures N]
           constraints and buses row by row; exit 1 when anything fails
  inspect  PROOF   parameters, security bits and section sizes as JSON
  export   (workload options) --air-out AIR.json --trace-out TRACE.bin
           [--public-inputs-out FILE]   write a builtin workload as user inputs

Defaults: blowup 8, queries 28, grinding 16, arity 8, final size 32 (100 bits).

Remote commands: prover [--server HOST:PORT] [--api-key KEY] [--tls] [--tls-ca PEM]
                        [--tls-server-name NAME] COMMAND ...
  (PROVER_SERVER and PROVER_API_KEY work too)
  submit   (workload options as for prove) [--request-id ID] [--priority P]
           [--deadline-ms MS] [--blowup ...] [--wait] [--out FILE]
           prints the job id as its last line; --wait waits, --out also downloads
  status   JOB [--json]         the job's state, stage and progress
  wait     JOB [--out FILE]     until the job is final; exit 0 only when it SUCCEEDED
  watch    JOB                  live stage and progress until the job is final
  cancel   JOB
  list     [--state S] [--workload W] [--page-size N] [--page-token T] [--json]
  fetch    JOB --out FILE       the proof, its SHA-256 checked
  info                          server version, engines, limits (JSON)
  health                        grpc.health.v1 check (no key needed)

Exit status 2 means a usage error.
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::vector<std::string> all(argv + 1, argv + argc);
#ifdef PROVER_WITH_REMOTE
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
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (prover::cli::IsRemoteCommand(all[0])) {
    return prover::cli::RunRemote(all[0], remote, {all.begin() + 1, all.end()});
  }
#endif
  const std::string command = all[0];
  const std::vector<std::string> args(all.begin() + 1, all.end());
  if (command == "prove") return prover::cli::RunProve(args);
  if (command == "verify") return prover::cli::RunVerify(args);
  if (command == "check") return prover::cli::RunCheck(args);
  if (command == "inspect") return prover::cli::RunInspect(args);
  if (command == "export") return prover::cli::RunExport(args);
  std::fprintf(stderr, "prover: unknown command '%s' (try `prover help`)\n", command.c_str());
  return 2;
}
