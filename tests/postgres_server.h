// PostgreSQL for tests: Debian's server, run by scripts/pg-test-server.sh in a temporary
// directory as an unprivileged user on a loopback port.
//
// SharedPostgresUrl(): the server of the whole test run ($PROVER_TEST_POSTGRES, which
// scripts/test.sh starts), or, when a test binary runs alone, one private server for this
// process. Tests that restart or kill the server start their own (PostgresServer::Start).
#pragma once

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

namespace prover::testing {

class PostgresServer {
 public:
  // Starts a fresh server; nullptr (with the reason on stderr) when it cannot.
  static std::unique_ptr<PostgresServer> Start() {
    char dir[] = "/tmp/prover_pg_XXXXXX";
    if (::mkdtemp(dir) == nullptr) return nullptr;
    std::string url;
    if (!Run("scripts/pg-test-server.sh start " + std::string(dir), &url) || url.empty()) {
      std::fprintf(stderr, "cannot start a PostgreSQL server in %s\n", dir);
      return nullptr;
    }
    while (!url.empty() && (url.back() == '\n' || url.back() == ' ')) url.pop_back();
    return std::unique_ptr<PostgresServer>(new PostgresServer(dir, url));
  }
  ~PostgresServer() { Run("scripts/pg-test-server.sh stop " + dir_, nullptr); }

  // postgresql://prover@127.0.0.1:PORT/postgres
  const std::string& url() const { return url_; }
  bool Restart() { return Run("scripts/pg-test-server.sh restart " + dir_, nullptr); }

  // Runs `command` (from the source tree: tests run there), its stdout into *out.
  static bool Run(const std::string& command, std::string* out) {
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return false;
    char buf[512];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
      if (out != nullptr) out->append(buf, n);
    }
    return ::pclose(p) == 0;
  }

 private:
  PostgresServer(std::string dir, std::string url) : dir_(std::move(dir)), url_(std::move(url)) {}
  std::string dir_, url_;
};

// The maintenance URL of the run's shared server (see above).
inline const std::string& SharedPostgresUrl() {
  static const std::string url = [] {
    if (const char* env = std::getenv("PROVER_TEST_POSTGRES"); env != nullptr && *env) {
      return std::string(env);
    }
    static std::unique_ptr<PostgresServer> own = PostgresServer::Start();
    if (!own) throw std::runtime_error("no PostgreSQL server for the tests");
    return own->url();
  }();
  return url;
}

// Runs one statement on `url`; false (with the error on stderr) on failure.
inline bool PostgresExec(const std::string& url, const std::string& sql) {
  PGconn* c = PQconnectdb(url.c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(c, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
  }
  if (!ok) std::fprintf(stderr, "postgres: %s: %s\n", sql.c_str(), PQerrorMessage(c));
  PQfinish(c);
  return ok;
}

// A new empty database on the server of `server_url` (default: the shared one); its URL.
inline std::string NewPostgresDatabase(const std::string& prefix,
                                       const std::string& server_url = SharedPostgresUrl()) {
  static std::atomic<int> counter{0};
  const std::string name = prefix + "_" + std::to_string(::getpid()) + "_" +
                           std::to_string(counter++) + "_" + std::to_string(std::rand() % 100000);
  if (!PostgresExec(server_url, "CREATE DATABASE " + name)) {
    throw std::runtime_error("cannot create database " + name);
  }
  const size_t slash = server_url.rfind('/');
  return server_url.substr(0, slash + 1) + name;
}

}  // namespace prover::testing
