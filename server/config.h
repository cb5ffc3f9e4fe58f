// proverd's configuration: flags, and optionally a config file with the same names.
//
// Config file: one `name = value` per line (the flag name without its dashes), '#'
// comments, blank lines ignored. Flags on the command line override the file. Unknown
// names are errors naming the file and line, or the flag.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace prover::server {

struct ServerConfig {
  std::string listen = "127.0.0.1:50051";
  std::string metrics_listen = "127.0.0.1:9464";  // empty: no metrics endpoint
  std::string data_dir = "prover-data";
  std::string api_keys;  // required unless insecure_loopback
  bool insecure_loopback = false;
  std::string tls_cert, tls_key;
  std::string engine = "auto";
  uint32_t cpu_jobs = 1;
  uint64_t cpu_memory_bytes = 0;  // 0: 80% of physical memory
  uint32_t gpu_jobs = 4;          // jobs at once per GPU
  uint64_t gpu_memory_bytes = 0;  // per-GPU budget; 0: 90% of free device memory
  uint32_t threads = 0;           // 0: all cores
  uint64_t max_message_bytes = 64ull << 20;
  uint64_t max_upload_bytes = 1ull << 30;
  uint32_t max_queued_per_tenant = 1000;
  uint32_t max_running_per_tenant = 4;
  double rate_limit = 200;  // calls per second per tenant; burst twice that
  uint32_t max_log_rows = 24;
  uint32_t min_security_bits = 100;
  double retention_hours = 168;
  double drain_timeout_s = 30;
  std::string log_level = "info";
  std::string ready_file;  // written once serving: "grpc=ADDR\nmetrics=ADDR\n"
};

// args: argv without the program name. "--help" gives FAILED_PRECONDITION with the usage.
absl::StatusOr<ServerConfig> ParseServerConfig(const std::vector<std::string>& args);
std::string ServerUsage();

// Whether a listen address binds only loopback (127.0.0.0/8, [::1], localhost).
bool IsLoopbackAddress(const std::string& address);

}  // namespace prover::server
