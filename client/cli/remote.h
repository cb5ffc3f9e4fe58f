// The remote commands of the `prover` CLI, talking to proverd through the client library:
// submit, status, wait, watch, cancel, list, fetch, info, health.
//
// Exit status: 0 success (for wait/submit --wait: the job SUCCEEDED), 1 the job failed or
// was cancelled, or the server answered with an error (one line on stderr), 2 usage.
#pragma once

#include <string>
#include <vector>

#include "client/prover_client.h"

namespace prover::cli {

bool IsRemoteCommand(const std::string& command);
int RunRemote(const std::string& command, const client::ClientOptions& options,
              const std::vector<std::string>& args);

}  // namespace prover::cli
