// prover: the command-line tool. Offline commands (this build): prove, verify, check,
// inspect, export. See `prover help`.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "client/cli/offline.h"

namespace {

constexpr char kUsage[] = R"(usage: prover COMMAND [options]

Offline commands:
  prove    --workload fibonacci --log-rows N | --workload zkvm --scale K [--seed S]
           | --air AIR.json --trace TRACE.bin --public-inputs V1,V2,...|@FILE
           --out FILE [--blowup B] [--queries Q] [--grinding BITS] [--arity A]
           [--final-size F] [--min-security BITS] [--threads N]
  verify   (the same workload options) [--min-security BITS] PROOF
           exit 0 accepted, 1 rejected (the reason on stderr)
  check    (the same workload options) [--max-failures N]
           constraints and buses row by row; exit 1 when anything fails
  inspect  PROOF   parameters, security bits and section sizes as JSON
  export   (workload options) --air-out AIR.json --trace-out TRACE.bin
           [--public-inputs-out FILE]   write a builtin workload as user inputs

Defaults: blowup 8, queries 28, grinding 16, arity 8, final size 32 (100 bits).
Exit status 2 means a usage error.
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "prove") return prover::cli::RunProve(args);
  if (command == "verify") return prover::cli::RunVerify(args);
  if (command == "check") return prover::cli::RunCheck(args);
  if (command == "inspect") return prover::cli::RunInspect(args);
  if (command == "export") return prover::cli::RunExport(args);
  std::fprintf(stderr, "prover: unknown command '%s' (try `prover help`)\n", command.c_str());
  return 2;
}
