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
  std::string database;                // empty: sqlite:DATA_DIR/prover.db (JobStore::Open)
  std::string database_password_file;  // PostgreSQL's password, one line (a Docker secret)
  std::string api_keys;                // required unless insecure_loopback
  bool insecure_loopback = false;
  // Cluster mode (docs/OPERATIONS.md, "A cluster").
  bool cluster = false;
  std::string node_id;            // empty: host-pid-random
  std::string advertise_address;  // empty: the address --listen bound
  double lease_s = 10;
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
  uint32_t min_proven_security_bits = 0;  // 0: no floor on the proven figure
  double retention_hours = 168;
  double drain_timeout_s = 30;
  // Resource governance (docs/OPERATIONS.md, "Resources").
  uint32_t verify_threads = 2;       // VerifyProof workers
  uint64_t verify_memory_bytes = 0;  // 0: 1/16 of RAM, at most 2 GiB
  uint32_t io_threads = 4;           // submission, artifact and proof-stream workers
  uint32_t max_crashes = 3;          // process deaths during one job before quarantine
  double stuck_timeout_s = 1800;     // a running job without progress this long is requeued
  uint32_t max_attempts = 3;         // ... and FAILED(STALLED) once it has had this many
  uint64_t max_stored_bytes_per_tenant = 16ull << 30;  // traces, requests and proofs held
  uint32_t max_jobs_per_tenant = 100000;               // rows held, finished ones included
  uint64_t min_free_disk_bytes = 256ull << 20;         // below: submissions UNAVAILABLE
  uint64_t max_upload_buffer_bytes = 0;  // uploads in flight, all tenants; 0: 1/8 of RAM
  double upload_idle_timeout_s = 30;     // an upload with no message this long is aborted
  uint64_t max_proof_bytes = 0;          // 0: 7/8 of max-message-bytes
  uint32_t max_air_nodes = 1u << 16;     // expression nodes in one AIR
  uint64_t max_air_bytes = 4u << 20;     // the encoded AIR of one request
  uint32_t max_proof_streams_per_tenant = 16;
  uint32_t max_watches_per_tenant = 1000;  // WaitJob and WatchJob calls at once
  double connection_idle_timeout_s = 300;
  double handshake_timeout_s = 10;
  uint32_t metrics_threads = 8;
  std::string log_level = "info";
  std::string ready_file;  // written once serving: "grpc=ADDR\nmetrics=ADDR\n"
};

// args: argv without the program name. "--help" gives FAILED_PRECONDITION with the usage.
absl::StatusOr<ServerConfig> ParseServerConfig(const std::vector<std::string>& args);
std::string ServerUsage();

// Whether a listen address binds only loopback (127.0.0.0/8, [::1], localhost).
bool IsLoopbackAddress(const std::string& address);

}  // namespace prover::server
