// The offline commands of the `prover` CLI: prove, verify, check, inspect, export. They
// link only the engine (no gRPC).
//
// Exit status: 0 success (proof written, proof accepted, trace satisfies the AIR),
// 1 the answer is no (proof rejected, constraints fail) or the work failed, 2 usage errors
// (unknown flags, unreadable or malformed inputs).
#pragma once

#include <string>
#include <vector>

namespace prover::cli {

// args excludes the program name and the command. Writes results to stdout and
// diagnostics and progress to stderr.
int RunProve(const std::vector<std::string>& args);
int RunVerify(const std::vector<std::string>& args);
int RunCheck(const std::vector<std::string>& args);
int RunInspect(const std::vector<std::string>& args);
int RunExport(const std::vector<std::string>& args);

}  // namespace prover::cli
