#include "server/log.h"

#include "gtest/gtest.h"

namespace prover::server {
namespace {

// W3C Trace Context, version 00: "00-<trace id>-<parent id>-<flags>", lower-case hex.
TEST(TraceIdOf, ValidTraceparentsOnly) {
  EXPECT_EQ(TraceIdOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(TraceIdOf(""), "");
  EXPECT_EQ(TraceIdOf("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"), "")
      << "upper case";
  EXPECT_EQ(TraceIdOf("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), "")
      << "all-zero trace id";
  EXPECT_EQ(TraceIdOf("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"), "")
      << "all-zero parent id";
  EXPECT_EQ(TraceIdOf("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), "")
      << "version ff";
  EXPECT_EQ(TraceIdOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"), "") << "short";
  EXPECT_EQ(TraceIdOf(std::string(10000, 'a')), "");
}

}  // namespace
}  // namespace prover::server
