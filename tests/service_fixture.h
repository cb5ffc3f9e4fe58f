// What the service integration tests share: the real proverd on loopback (ProverdProcess),
// two tenants with API keys, and small helpers (requests, waits, the metrics endpoint).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "engine/air/air_proto.h"
#include "engine/air/workloads/fibonacci.h"
#include "engine/air/workloads/zkvm.h"
#include "engine/stark/verifier.h"
#include "gtest/gtest.h"
#include "server/sha256.h"
#include "tests/proverd_process.h"

namespace prover {

using client::ProverClient;
using testing::ProverdProcess;

inline constexpr char kAlpha[] = "key-alpha";
inline constexpr char kBeta[] = "key-beta";

inline std::string TempDir(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("proverd_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

inline std::string KeysFile(const std::string& dir) {
  const std::string path = dir + "/keys.txt";
  std::ofstream(path) << "# test tenants\nalpha " << server::Sha256Hex(kAlpha) << "\nbeta "
                      << server::Sha256Hex(kBeta) << "\n";
  return path;
}

inline v1::SubmitProofRequest Fib(uint32_t log_rows, std::string request_id = "") {
  v1::SubmitProofRequest r;
  r.mutable_builtin()->set_workload("fibonacci");
  r.mutable_builtin()->set_log_rows(log_rows);
  r.set_request_id(std::move(request_id));
  return r;
}

inline bool IsFinal(const v1::Job& j) {
  return j.state() == v1::SUCCEEDED || j.state() == v1::FAILED || j.state() == v1::CANCELLED;
}

// GET http://ADDR/PATH (the metrics endpoint).
inline std::string HttpGet(const std::string& address, const std::string& path) {
  const size_t colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return "";
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
  (void)::write(fd, req.data(), req.size());
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  ::close(fd);
  return out;
}

inline double MetricValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

inline absl::Status VerifyFib(uint32_t log_rows, const std::string& proof) {
  auto w = air::Fibonacci(int(log_rows));
  return stark::VerifyEncoded(
      w->air, w->public_inputs,
      std::span(reinterpret_cast<const uint8_t*>(proof.data()), proof.size()));
}

class ServiceTest : public ::testing::Test {
 protected:
  void StartServer(const std::string& name, std::vector<std::string> flags = {}) {
    dir_ = TempDir(name);
    std::vector<std::string> all = {"--api-keys", KeysFile(dir_), "--rate-limit", "0"};
    all.insert(all.end(), flags.begin(), flags.end());
    server_ = std::make_unique<ProverdProcess>(dir_ + "/data", all);
    ASSERT_TRUE(server_->Start()) << server_->Log();
    alpha_ = server_->Client(kAlpha);
    beta_ = server_->Client(kBeta);
  }
  void TearDown() override {
    if (server_) {
      if (HasFailure()) std::fprintf(stderr, "proverd log:\n%s\n", server_->Log().c_str());
      server_->Kill();
    }
  }

  v1::Job Submit(const v1::SubmitProofRequest& r, ProverClient* c = nullptr) {
    auto resp = (c ? c : alpha_.get())->Submit(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->job() : v1::Job();
  }
  v1::Job WaitFinal(const std::string& id) {
    auto j = alpha_->WaitFinal(id, std::chrono::seconds(120));
    EXPECT_TRUE(j.ok()) << j.status();
    return j.ok() ? *j : v1::Job();
  }
  // Waits until the job is RUNNING (polling).
  void WaitRunning(const std::string& id) {
    for (int i = 0; i < 2000; ++i) {
      auto j = alpha_->GetJob(id);
      ASSERT_TRUE(j.ok());
      if (j->state() == v1::RUNNING) return;
      ASSERT_FALSE(IsFinal(*j)) << v1::JobState_Name(j->state());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL() << "job never ran";
  }

  std::string dir_;
  std::unique_ptr<ProverdProcess> server_;
  std::unique_ptr<ProverClient> alpha_, beta_;
};

}  // namespace prover
