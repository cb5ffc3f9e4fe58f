#include "server/config.h"

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace prover::server {
namespace {

using Setter = std::function<absl::Status(ServerConfig&, const std::string&)>;

template <typename T>
Setter Number(T ServerConfig::*field) {
  return [field](ServerConfig& c, const std::string& v) -> absl::Status {
    if constexpr (std::is_same_v<T, double>) {
      double x;
      if (!absl::SimpleAtod(v, &x) || x < 0) return absl::InvalidArgumentError("not a number >= 0");
      c.*field = x;
    } else {
      uint64_t x;
      if (!absl::SimpleAtoi(v, &x) || x > std::numeric_limits<T>::max()) {
        return absl::InvalidArgumentError("not a non-negative integer in range");
      }
      c.*field = T(x);
    }
    return absl::OkStatus();
  };
}

Setter Text(std::string ServerConfig::*field) {
  return [field](ServerConfig& c, const std::string& v) {
    c.*field = v;
    return absl::OkStatus();
  };
}

const std::map<std::string, Setter>& Setters() {
  static const auto* m = new std::map<std::string, Setter>{
      {"listen", Text(&ServerConfig::listen)},
      {"metrics-listen", Text(&ServerConfig::metrics_listen)},
      {"data-dir", Text(&ServerConfig::data_dir)},
      {"database", Text(&ServerConfig::database)},
      {"database-password-file", Text(&ServerConfig::database_password_file)},
      {"api-keys", Text(&ServerConfig::api_keys)},
      {"insecure-loopback",
       [](ServerConfig& c, const std::string& v) {
         if (v != "true" && v != "false") return absl::InvalidArgumentError("true or false");
         c.insecure_loopback = v == "true";
         return absl::OkStatus();
       }},
      {"cluster",
       [](ServerConfig& c, const std::string& v) {
         if (v != "true" && v != "false") return absl::InvalidArgumentError("true or false");
         c.cluster = v == "true";
         return absl::OkStatus();
       }},
      {"node-id", Text(&ServerConfig::node_id)},
      {"advertise-address", Text(&ServerConfig::advertise_address)},
      {"lease-s", Number(&ServerConfig::lease_s)},
      {"tls-cert", Text(&ServerConfig::tls_cert)},
      {"tls-key", Text(&ServerConfig::tls_key)},
      {"engine", Text(&ServerConfig::engine)},
      {"cpu-jobs", Number(&ServerConfig::cpu_jobs)},
      {"cpu-memory-bytes", Number(&ServerConfig::cpu_memory_bytes)},
      {"gpu-jobs", Number(&ServerConfig::gpu_jobs)},
      {"gpu-memory-bytes", Number(&ServerConfig::gpu_memory_bytes)},
      {"threads", Number(&ServerConfig::threads)},
      {"max-message-bytes", Number(&ServerConfig::max_message_bytes)},
      {"max-upload-bytes", Number(&ServerConfig::max_upload_bytes)},
      {"max-queued-per-tenant", Number(&ServerConfig::max_queued_per_tenant)},
      {"max-running-per-tenant", Number(&ServerConfig::max_running_per_tenant)},
      {"rate-limit", Number(&ServerConfig::rate_limit)},
      {"max-log-rows", Number(&ServerConfig::max_log_rows)},
      {"min-security-bits", Number(&ServerConfig::min_security_bits)},
      {"min-proven-security-bits", Number(&ServerConfig::min_proven_security_bits)},
      {"retention-hours", Number(&ServerConfig::retention_hours)},
      {"drain-timeout-s", Number(&ServerConfig::drain_timeout_s)},
      {"verify-threads", Number(&ServerConfig::verify_threads)},
      {"verify-memory-bytes", Number(&ServerConfig::verify_memory_bytes)},
      {"io-threads", Number(&ServerConfig::io_threads)},
      {"max-crashes", Number(&ServerConfig::max_crashes)},
      {"stuck-timeout-s", Number(&ServerConfig::stuck_timeout_s)},
      {"max-attempts", Number(&ServerConfig::max_attempts)},
      {"max-stored-bytes-per-tenant", Number(&ServerConfig::max_stored_bytes_per_tenant)},
      {"max-jobs-per-tenant", Number(&ServerConfig::max_jobs_per_tenant)},
      {"min-free-disk-bytes", Number(&ServerConfig::min_free_disk_bytes)},
      {"max-upload-buffer-bytes", Number(&ServerConfig::max_upload_buffer_bytes)},
      {"upload-idle-timeout-s", Number(&ServerConfig::upload_idle_timeout_s)},
      {"max-proof-bytes", Number(&ServerConfig::max_proof_bytes)},
      {"max-air-nodes", Number(&ServerConfig::max_air_nodes)},
      {"max-air-bytes", Number(&ServerConfig::max_air_bytes)},
      {"max-proof-streams-per-tenant", Number(&ServerConfig::max_proof_streams_per_tenant)},
      {"max-watches-per-tenant", Number(&ServerConfig::max_watches_per_tenant)},
      {"connection-idle-timeout-s", Number(&ServerConfig::connection_idle_timeout_s)},
      {"handshake-timeout-s", Number(&ServerConfig::handshake_timeout_s)},
      {"metrics-threads", Number(&ServerConfig::metrics_threads)},
      {"log-level", Text(&ServerConfig::log_level)},
      {"ready-file", Text(&ServerConfig::ready_file)},
  };
  return *m;
}

absl::Status Set(ServerConfig& c, const std::string& name, const std::string& value,
                 const std::string& where) {
  auto it = Setters().find(name);
  if (it == Setters().end()) {
    return absl::InvalidArgumentError(absl::StrCat(where, "unknown setting '", name, "'"));
  }
  if (auto s = it->second(c, value); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(where, name, ": '", value, "': ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status LoadFile(ServerConfig& c, const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--config: cannot read ", path));
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#') continue;
    const size_t eq = l.find('=');
    const std::string where = absl::StrCat(path, ":", number, ": ");
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(where, "expected 'name = value'"));
    }
    const std::string name(absl::StripAsciiWhitespace(l.substr(0, eq)));
    const std::string value(absl::StripAsciiWhitespace(l.substr(eq + 1)));
    if (auto s = Set(c, name, value, where); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

std::string ServerUsage() {
  return R"(usage: proverd [--config FILE] [--name value ...]

  --listen ADDR               gRPC address (default 127.0.0.1:50051)
  --metrics-listen ADDR       Prometheus /metrics address (default 127.0.0.1:9464; empty: off)
  --data-dir DIR              job database and artifacts (default ./prover-data)
  --database DB               the job table: sqlite:PATH (default sqlite:DATA_DIR/prover.db)
                              or postgresql://USER@HOST:PORT/DB (password from PGPASSWORD or
                              ~/.pgpass)
  --database-password-file F  PostgreSQL's password in a file (its first line), e.g. a
                              Docker secret; never logged
  --api-keys FILE             lines 'TENANT SHA256_HEX_OF_KEY' (required unless
                              --insecure-loopback)
  --insecure-loopback         no keys; every caller is tenant 'local'; loopback addresses only
  --cluster                   one node of several on one --database (PostgreSQL) and one
                              shared --data-dir: claims, leases, fencing (OPERATIONS.md)
  --node-id ID                this node's id in the cluster (default host-pid-random)
  --advertise-address H:P     where clients reach this node (default the bound --listen)
  --lease-s S                 a claimed job's lease; heartbeats every S/4 (default 10)
  --tls-cert FILE --tls-key FILE   serve TLS
  --engine auto|cpu|cuda      engines to use (default auto: GPUs, then the CPU)
  --cpu-jobs N                jobs at once on the CPU engine (default 1)
  --gpu-jobs N                jobs at once per GPU, one CUDA stream each (default 4)
  --gpu-memory-bytes N        per-GPU device memory budget (default 90% of free memory)
  --cpu-memory-bytes N        CPU engine memory budget (default 80% of RAM)
  --threads N                 CPU threads (default all cores)
  --max-message-bytes N       largest gRPC message (default 64 MiB)
  --max-upload-bytes N        largest streamed trace (default 1 GiB)
  --max-queued-per-tenant N   (default 1000)
  --max-running-per-tenant N  (default 4)
  --rate-limit R              calls per second per tenant, bursts of 2R (default 200; 0: off)
  --max-log-rows N            largest table height accepted, log2 (default 24)
  --min-security-bits N       conjectured security floor for proofs (default 100)
  --min-proven-security-bits N  proven security floor for proofs (default 0: none)
  --retention-hours H         keep finished jobs and proofs this long (default 168)
  --drain-timeout-s S         on SIGTERM, wait this long for running jobs (default 30)
  --log-level debug|info|warning|error

resources (docs/OPERATIONS.md, "Resources"):
  --verify-threads N          VerifyProof workers (default 2)
  --verify-memory-bytes N     memory VerifyProof may hold (default RAM/16, at most 2 GiB)
  --io-threads N              submission, artifact and proof-stream workers (default 4)
  --max-crashes N             process deaths while one job runs before it is
                              quarantined as FAILED/QUARANTINED (default 3)
  --stuck-timeout-s S         a running job whose stage has not moved this long is stopped
                              and requeued (default 1800; 0: off)
  --max-attempts N            a stuck job that has had N attempts is FAILED/STALLED instead
                              (default 3)
  --max-stored-bytes-per-tenant N  traces, requests and proofs one tenant holds (16 GiB)
  --max-jobs-per-tenant N     jobs one tenant holds, finished ones included (100000)
  --min-free-disk-bytes N     below this free space submissions are UNAVAILABLE (256 MiB)
  --max-upload-buffer-bytes N uploads in flight, all tenants (default RAM/8; a tenant half)
  --upload-idle-timeout-s S   an upload silent this long is aborted (default 30)
  --max-proof-bytes N         largest proof a statement may produce (default 7/8 of
                              max-message-bytes, so VerifyProof can take it back)
  --max-air-nodes N           expression nodes in one AIR (default 65536)
  --max-air-bytes N           the encoded AIR of one request (default 4 MiB)
  --max-proof-streams-per-tenant N  GetProof calls at once per tenant (default 16)
  --max-watches-per-tenant N  WaitJob and WatchJob calls at once per tenant (default 1000)
  --connection-idle-timeout-s S   close connections idle this long (default 300)
  --handshake-timeout-s S     close connections that do not finish their handshake (10)
  --metrics-threads N         /metrics server threads (default 8)
  --ready-file FILE           written once serving, with the bound addresses
  --version                   print the version and the commit, and exit
)";
}

absl::StatusOr<ServerConfig> ParseServerConfig(const std::vector<std::string>& args) {
  ServerConfig c;
  // The config file first, wherever --config appears, so flags override it.
  for (size_t i = 0; i < args.size(); ++i) {
    std::string path;
    if (args[i] == "--config" && i + 1 < args.size()) path = args[i + 1];
    if (args[i].rfind("--config=", 0) == 0) path = args[i].substr(9);
    if (!path.empty()) {
      if (auto s = LoadFile(c, path); !s.ok()) return s;
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") return absl::FailedPreconditionError(ServerUsage());
    if (a.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", a, "'"));
    }
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (name == "insecure-loopback" || name == "cluster") {
      value = "true";
    } else {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, ": missing value"));
      }
      value = args[++i];
    }
    if (name == "config") continue;
    if (auto s = Set(c, name, value, "--"); !s.ok()) return s;
  }
  if (c.api_keys.empty() && !c.insecure_loopback) {
    return absl::InvalidArgumentError(
        "--api-keys FILE is required (or --insecure-loopback for a local, keyless server)");
  }
  if (!c.api_keys.empty() && c.insecure_loopback) {
    return absl::InvalidArgumentError("--api-keys and --insecure-loopback exclude each other");
  }
  if (c.insecure_loopback) {
    if (!IsLoopbackAddress(c.listen)) {
      return absl::InvalidArgumentError(absl::StrCat("--insecure-loopback refuses to listen on '",
                                                     c.listen, "': loopback addresses only"));
    }
    if (!c.metrics_listen.empty() && !IsLoopbackAddress(c.metrics_listen)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--insecure-loopback refuses to serve metrics on '", c.metrics_listen,
                       "': loopback addresses only"));
    }
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (c.cpu_jobs == 0) return absl::InvalidArgumentError("--cpu-jobs: at least 1");
  if (c.gpu_jobs == 0) return absl::InvalidArgumentError("--gpu-jobs: at least 1");
  if (c.verify_threads == 0) return absl::InvalidArgumentError("--verify-threads: at least 1");
  if (c.io_threads == 0) return absl::InvalidArgumentError("--io-threads: at least 1");
  if (c.max_crashes == 0) return absl::InvalidArgumentError("--max-crashes: at least 1");
  if (c.max_attempts == 0) return absl::InvalidArgumentError("--max-attempts: at least 1");
  if (c.lease_s < 0.1) return absl::InvalidArgumentError("--lease-s: at least 0.1");
  if (c.stuck_timeout_s < 0) return absl::InvalidArgumentError("--stuck-timeout-s: negative");
  if (c.metrics_threads < 2) return absl::InvalidArgumentError("--metrics-threads: at least 2");
  if (c.max_message_bytes < (64u << 10)) {
    return absl::InvalidArgumentError("--max-message-bytes: at least 64 KiB");
  }
  return c;
}

bool IsLoopbackAddress(const std::string& address) {
  std::string host = address;
  if (host.rfind("ipv4:", 0) == 0) host = host.substr(5);
  if (host.rfind("ipv6:", 0) == 0) host = host.substr(5);
  if (!host.empty() && host[0] == '[') {
    const size_t close = host.find(']');
    return close != std::string::npos && host.substr(1, close - 1) == "::1";
  }
  const size_t colon = host.rfind(':');
  if (colon != std::string::npos) host = host.substr(0, colon);
  if (host == "localhost") return true;
  return host.rfind("127.", 0) == 0;
}

}  // namespace prover::server
