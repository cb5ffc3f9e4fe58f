// What this build is: the project's version and the source commit it was built from
// (`unknown` outside a git checkout, `-dirty` with uncommitted changes). Defined in a file
// the build generates (cmake/WriteBuildInfo.cmake); `--version` of both binaries and
// GetServerInfo report them.
#pragma once

namespace prover {

const char* BuildVersion();
const char* BuildCommit();

}  // namespace prover
