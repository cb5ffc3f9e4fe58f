// Starts the real proverd binary on loopback ports chosen by the kernel, with its own data
// directory and keys file, for integration tests. Stop() sends SIGTERM (a drain); Kill()
// sends SIGKILL (a crash).
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/prover_client.h"

namespace prover::testing {

inline std::string BinDir() {
  // The tests run from the source directory; binaries live in build/bin next to this one.
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = 0;
  return std::filesystem::path(buf).parent_path().string();
}

class ProverdProcess {
 public:
  // `data_dir` persists across restarts of the same test.
  // `files_dir` (default: the data directory) holds the ready file and the log: cluster
  // nodes share one data directory, each with files of its own.
  ProverdProcess(std::string data_dir, std::vector<std::string> extra_flags,
                 std::string files_dir = "")
      : data_dir_(std::move(data_dir)),
        flags_(std::move(extra_flags)),
        files_dir_(files_dir.empty() ? data_dir_ : std::move(files_dir)) {}
  ~ProverdProcess() { Kill(); }

  bool Start() {
    std::filesystem::create_directories(data_dir_);
    std::filesystem::create_directories(files_dir_);
    ready_ = files_dir_ + "/ready";
    std::filesystem::remove(ready_);
    std::vector<std::string> args = {BinDir() + "/proverd",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--metrics-listen",
                                     "127.0.0.1:0",
                                     "--data-dir",
                                     data_dir_,
                                     "--ready-file",
                                     ready_};
    args.insert(args.end(), flags_.begin(), flags_.end());
    log_ = files_dir_ + "/proverd.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      if (nofile_limit_ != 0) {
        struct rlimit rl {
          nofile_limit_, nofile_limit_
        };
        ::setrlimit(RLIMIT_NOFILE, &rl);
      }
      std::FILE* f = std::fopen(log_.c_str(), "a");
      if (f) ::dup2(::fileno(f), 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      std::_Exit(127);
    }
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < end) {
      std::ifstream in(ready_);
      std::string line;
      while (std::getline(in, line)) {
        if (line.rfind("grpc=", 0) == 0) grpc_ = line.substr(5);
        if (line.rfind("metrics=", 0) == 0) metrics_ = line.substr(8);
      }
      if (!grpc_.empty()) {
        last_grpc_ = grpc_;
        last_metrics_ = metrics_;
        return true;
      }
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Starts again on the addresses of the last start (clients keep their channels, which
  // reconnect): a machine restarted in place.
  bool RestartInPlace() {
    const std::vector<std::string> saved = flags_;
    if (!last_grpc_.empty()) {
      flags_.insert(flags_.end(), {"--listen", last_grpc_, "--metrics-listen", last_metrics_});
    }
    const bool ok = Start();
    flags_ = saved;
    return ok;
  }

  // Waits for the process to exit by itself (at most `timeout`); its exit status, or -1.
  int WaitExit(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0 && std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        grpc_.clear();
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

  // SIGTERM and wait; returns the exit status.
  int Stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    grpc_.clear();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // SIGSTOP / SIGCONT: a node paused (a long GC, a VM migration, a partition) and resumed.
  void Pause() {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
  }
  void Resume() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
  }

  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    grpc_.clear();
  }

  std::unique_ptr<client::ProverClient> Client(const std::string& api_key) const {
    client::ClientOptions o;
    o.target = grpc_;
    o.api_key = api_key;
    return *client::ProverClient::Connect(o);
  }

  // The descriptor limit (soft and hard) of the next Start, 0: inherited.
  void set_nofile_limit(rlim_t n) { nofile_limit_ = n; }
  pid_t pid() const { return pid_; }
  const std::string& grpc_address() const { return grpc_; }
  const std::string& metrics_address() const { return metrics_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string data_dir_;
  std::vector<std::string> flags_;
  std::string files_dir_;
  std::string ready_, log_, grpc_, metrics_;
  std::string last_grpc_, last_metrics_;  // RestartInPlace
  pid_t pid_ = -1;
  rlim_t nofile_limit_ = 0;
};

}  // namespace prover::testing
