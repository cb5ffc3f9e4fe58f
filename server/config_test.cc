#include "server/config.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace prover::server {
namespace {

TEST(ServerConfig, KeysAreRequiredUnlessInsecureLoopback) {
  auto c = ParseServerConfig({});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string(c.status().message()).find("--api-keys"), std::string::npos);
  auto local = ParseServerConfig({"--insecure-loopback"});
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_TRUE(local->insecure_loopback);
  EXPECT_EQ(local->listen, "127.0.0.1:50051");
}

TEST(ServerConfig, InsecureModeBindsOnlyLoopback) {
  for (const char* addr : {"0.0.0.0:1", "10.0.0.1:5", "[::]:7", "example.com:1"}) {
    EXPECT_FALSE(ParseServerConfig({"--insecure-loopback", "--listen", addr}).ok()) << addr;
  }
  for (const char* addr : {"127.0.0.1:0", "localhost:9", "[::1]:50051"}) {
    EXPECT_TRUE(ParseServerConfig(
                    {"--insecure-loopback", "--listen", addr, "--metrics-listen", "127.0.0.1:0"})
                    .ok())
        << addr;
  }
  EXPECT_FALSE(ParseServerConfig({"--insecure-loopback", "--metrics-listen", "0.0.0.0:9464"}).ok());
}

TEST(ServerConfig, FileThenFlagsOverride) {
  const auto path = std::filesystem::temp_directory_path() / "proverd_config_test.conf";
  std::ofstream(path) << "# example\nlisten = 0.0.0.0:6000\napi-keys = /k\ncpu-jobs = 3\n"
                         "rate-limit = 12.5\n";
  auto c = ParseServerConfig({"--config", path.string(), "--cpu-jobs=2"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "0.0.0.0:6000");
  EXPECT_EQ(c->api_keys, "/k");
  EXPECT_EQ(c->cpu_jobs, 2u);
  EXPECT_DOUBLE_EQ(c->rate_limit, 12.5);
  std::ofstream(path) << "listen = x:1\nbogus = 3\n";
  auto bad = ParseServerConfig({"--config", path.string()});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find(":2: unknown setting 'bogus'"),
            std::string::npos)
      << bad.status();
  std::filesystem::remove(path);
  EXPECT_FALSE(ParseServerConfig({"--api-keys", "/k", "--cpu-jobs", "many"}).ok());
  EXPECT_FALSE(ParseServerConfig({"--api-keys", "/k", "--no-such-flag", "1"}).ok());
  EXPECT_FALSE(ParseServerConfig({"--api-keys", "/k", "--tls-cert", "c.pem"}).ok());
}

}  // namespace
}  // namespace prover::server
