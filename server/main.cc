// proverd: the proving service. See `proverd --help`, docs/API.md and docs/OPERATIONS.md.
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/build_info.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "prometheus/exposer.h"
#include "server/config.h"
#include "server/engines.h"
#include "server/job_manager.h"
#include "server/log.h"
#include "server/reflection_v1.h"
#include "server/service.h"
#include "tbb/global_control.h"

namespace prover::server {
namespace {

absl::StatusOr<std::string> ReadAll(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Raises the soft descriptor limit to the hard one: connections and artifacts share it, and
// the default 1024 is easy to exhaust with idle connections.
void RaiseDescriptorLimit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// Every start-up failure: one line naming what is wrong (a flag, a path), exit status 2.
int Fail(const absl::Status& s) {
  std::fprintf(stderr, "proverd: %s\n", std::string(s.message()).c_str());
  return 2;
}

int Main(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--version") {
      std::printf("proverd %s (commit %s)\n", BuildVersion(), BuildCommit());
      return 0;
    }
  }
  auto config = ParseServerConfig(args);
  if (!config.ok()) {
    if (config.status().code() == absl::StatusCode::kFailedPrecondition) {
      std::fputs(std::string(config.status().message()).c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "proverd: %s\n%s", std::string(config.status().message()).c_str(),
                 "try `proverd --help`\n");
    return 2;
  }
  const ServerConfig& c = *config;
  LogLevel level;
  if (!ParseLogLevel(c.log_level, &level)) {
    return Fail(absl::InvalidArgumentError("--log-level: debug, info, warning or error"));
  }
  SetLogLevel(level);
  RouteGrpcLogs();

  // SIGTERM and SIGINT are taken by sigwait below: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<tbb::global_control> threads;
  if (c.threads != 0) {
    threads = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    c.threads);
  }

  ServiceOptions service_options;
  if (!c.api_keys.empty()) {
    auto keys = KeyRing::Load(c.api_keys);
    if (!keys.ok()) return Fail(keys.status());
    if (keys->size() == 0) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("--api-keys: ", c.api_keys, " lists no key; nobody could call")));
    }
    service_options.keys = std::make_shared<const KeyRing>(*std::move(keys));
  }
  service_options.rate_limit_per_second = c.rate_limit;
  service_options.rate_limit_burst = 2 * c.rate_limit;
  service_options.max_message_bytes = c.max_message_bytes;
  service_options.max_upload_bytes = c.max_upload_bytes;
  const uint64_t ram = PhysicalMemoryBytes();
  service_options.io_threads = c.io_threads;
  service_options.verify_threads = c.verify_threads;
  service_options.verify_queue = 8 * c.verify_threads;
  service_options.verify_memory_bytes =
      c.verify_memory_bytes != 0 ? c.verify_memory_bytes : std::min<uint64_t>(ram / 16, 2ull << 30);
  service_options.upload_buffer_bytes =
      c.max_upload_buffer_bytes != 0 ? c.max_upload_buffer_bytes : ram / 8;
  service_options.upload_idle_timeout_ms = uint32_t(c.upload_idle_timeout_s * 1000);
  service_options.max_proof_streams_per_tenant = c.max_proof_streams_per_tenant;
  service_options.max_watches_per_tenant = c.max_watches_per_tenant;
  RaiseDescriptorLimit();

  EngineOptions engine_options;
  engine_options.choice = c.engine;
  engine_options.cpu_jobs = c.cpu_jobs;
  engine_options.cpu_memory_bytes = c.cpu_memory_bytes;
  engine_options.gpu_jobs = c.gpu_jobs;
  engine_options.gpu_memory_bytes = c.gpu_memory_bytes;
  auto engines = DiscoverEngines(engine_options);
  if (!engines.ok()) return Fail(engines.status());
  service_options.unavailable_engines = engines->unavailable;
  for (const auto& e : engines->engines) {
    Log(LogLevel::kInfo, "engine ready",
        {{"engine", e->info().name},
         {"device", e->info().device},
         {"memory_budget_bytes", std::to_string(e->info().memory_budget_bytes)},
         {"jobs", std::to_string(e->info().max_concurrent_jobs)}});
  }
  for (const auto& u : engines->unavailable)
    Log(LogLevel::kInfo, "engine unavailable", {{"why", u}});

  Metrics metrics;
  std::unique_ptr<prometheus::Exposer> exposer;
  std::string metrics_address;
  if (!c.metrics_listen.empty()) {
    try {
      // Enough threads that idle or half-sent requests cannot occupy them all, and a
      // timeout that closes them.
      exposer = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
          "listening_ports", c.metrics_listen, "num_threads", std::to_string(c.metrics_threads),
          "request_timeout_ms", "5000", "keep_alive_timeout_ms", "5000"});
    } catch (const std::exception& e) {
      return Fail(absl::UnavailableError(
          absl::StrCat("--metrics-listen: cannot listen on ", c.metrics_listen, ": ", e.what())));
    }
    exposer->RegisterCollectable(metrics.registry());
    exposer->RegisterCollectable(metrics.live());
    const auto ports = exposer->GetListeningPorts();
    const std::string host = c.metrics_listen.substr(0, c.metrics_listen.rfind(':'));
    metrics_address = absl::StrCat(host, ":", ports.empty() ? 0 : ports[0]);
  }

  ManagerOptions manager_options;
  manager_options.data_dir = c.data_dir;
  manager_options.database = c.database;
  if (!c.database_password_file.empty()) {
    auto password = ReadAll(c.database_password_file, "--database-password-file");
    if (!password.ok()) return Fail(password.status());
    std::string first = password->substr(0, password->find('\n'));
    if (!first.empty() && first.back() == '\r') first.pop_back();
    if (first.empty()) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("--database-password-file: ", c.database_password_file, " is empty")));
    }
    manager_options.database_password = std::move(first);
  }
  manager_options.request_limits.max_log_rows = int(c.max_log_rows);
  manager_options.request_limits.min_security_bits = c.min_security_bits;
  manager_options.request_limits.min_proven_security_bits = c.min_proven_security_bits;
  manager_options.request_limits.max_trace_bytes = c.max_upload_bytes;
  manager_options.max_queued_per_tenant = c.max_queued_per_tenant;
  manager_options.max_running_per_tenant = c.max_running_per_tenant;
  manager_options.retention_ms = int64_t(c.retention_hours * 3600e3);
  manager_options.max_crashes = c.max_crashes;
  manager_options.stuck_timeout_ms = int64_t(c.stuck_timeout_s * 1000);
  manager_options.max_attempts = c.max_attempts;
  manager_options.cluster = c.cluster;
  manager_options.node_id = c.node_id;
  manager_options.node_address = c.advertise_address;
  manager_options.lease_ms = int64_t(c.lease_s * 1000);
  manager_options.max_stored_bytes_per_tenant = c.max_stored_bytes_per_tenant;
  manager_options.max_jobs_per_tenant = c.max_jobs_per_tenant;
  manager_options.min_free_disk_bytes = c.min_free_disk_bytes;
  manager_options.request_limits.air.max_total_exprs = c.max_air_nodes;
  manager_options.request_limits.air.max_exprs = c.max_air_nodes;
  manager_options.request_limits.air.max_encoded_bytes = c.max_air_bytes;
  manager_options.request_limits.max_proof_bytes =
      c.max_proof_bytes != 0 ? c.max_proof_bytes : c.max_message_bytes / 8 * 7;
  auto manager = JobManager::Open(manager_options, std::move(engines->engines), &metrics);
  if (!manager.ok()) return Fail(manager.status());

  ProverService service(manager->get(), &metrics, service_options);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (!c.tls_cert.empty()) {
    auto cert = ReadAll(c.tls_cert, "--tls-cert");
    if (!cert.ok()) return Fail(cert.status());
    auto key = ReadAll(c.tls_key, "--tls-key");
    if (!key.ok()) return Fail(key.status());
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    creds = grpc::SslServerCredentials(ssl);
  } else {
    creds = grpc::InsecureServerCredentials();
  }
  int port = 0;
  builder.AddListeningPort(c.listen, creds, &port);
  builder.SetMaxReceiveMessageSize(int(std::min<uint64_t>(c.max_message_bytes, INT32_MAX)));
  builder.SetMaxSendMessageSize(int(std::min<uint64_t>(c.max_message_bytes, INT32_MAX)));
  // Connections: a handshake must finish in time, and idle ones are closed.
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             int(std::max(1.0, c.handshake_timeout_s * 1000)));
  if (c.connection_idle_timeout_s > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               int(std::min(c.connection_idle_timeout_s * 1000, 2e9)));
  }
  // gRPC's own buffers (received messages not yet handed to us among them).
  grpc::ResourceQuota quota("proverd");
  quota.Resize(size_t(std::max<uint64_t>(4 * c.max_message_bytes, 256ull << 20)));
  builder.SetResourceQuota(quota);
  builder.RegisterService(&service);
  // Reflection v1 next to gRPC's v1alpha (proof.proto and health.proto are linked in, so
  // every message of the API is found by name).
  ReflectionV1 reflection_v1({v1::Prover::service_full_name(), "grpc.health.v1.Health",
                              "grpc.reflection.v1.ServerReflection",
                              "grpc.reflection.v1alpha.ServerReflection"});
  builder.RegisterService(&reflection_v1);
  UnknownMethodService unknown_methods(&metrics);
  builder.RegisterCallbackGenericService(&unknown_methods);
  builder.experimental().SetInterceptorCreators(MakeStatusInterceptors(&metrics));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    return Fail(absl::UnavailableError(absl::StrCat("--listen: cannot listen on ", c.listen)));
  }
  // Health by service name too (load balancers ask for the service they route to); both
  // turn NOT_SERVING when the drain starts.
  server->GetHealthCheckService()->SetServingStatus(v1::Prover::service_full_name(), true);
  const std::string host = c.listen.substr(0, c.listen.rfind(':'));
  const std::string grpc_address = absl::StrCat(host, ":", port);
  if (c.advertise_address.empty()) (*manager)->SetNodeAddress(grpc_address);
  Log(LogLevel::kInfo, "proverd serving",
      {{"grpc", grpc_address},
       {"metrics", metrics_address},
       {"tls", c.tls_cert.empty() ? "off" : "on"},
       {"auth", c.insecure_loopback ? "off (insecure loopback)" : "api keys"},
       {"data_dir", c.data_dir},
       {"database", c.database.empty() ? "sqlite:" + c.data_dir + "/prover.db"
                                       : JobStore::Redacted(c.database)}});
  if (!c.ready_file.empty()) {
    const std::string tmp = c.ready_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << "grpc=" << grpc_address << "\nmetrics=" << metrics_address << "\n";
    }
    std::filesystem::rename(tmp, c.ready_file);
  }

  int sig = 0;
  sigwait(&signals, &sig);
  Log(LogLevel::kInfo, "draining", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server->GetHealthCheckService()->SetServingStatus(false);
  (*manager)->Drain(std::chrono::milliseconds(int64_t(c.drain_timeout_s * 1000)));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  service.Shutdown();
  manager->reset();
  Log(LogLevel::kInfo, "proverd stopped");
  return 0;
}

}  // namespace
}  // namespace prover::server

int main(int argc, char** argv) {
  return prover::server::Main(std::vector<std::string>(argv + 1, argv + argc));
}
