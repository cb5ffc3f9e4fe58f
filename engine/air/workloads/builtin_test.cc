// The list of builtin workloads against what each workload builds.
#include "engine/air/workloads/builtin.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "engine/air/checker.h"

namespace prover::air {
namespace {

TEST(BuiltinWorkloads, EachEntryAgreesWithWhatItBuilds) {
  std::set<std::string> names;
  for (const BuiltinWorkload& w : BuiltinWorkloads()) {
    SCOPED_TRACE(w.name);
    EXPECT_TRUE(names.insert(w.name).second) << "listed twice";
    EXPECT_EQ(FindWorkload(w.name), &w);
    EXPECT_NE(WorkloadNames().find(w.name), std::string::npos);
    ASSERT_LE(w.min_size, w.max_size);
    for (int size : {w.min_size, w.min_size + 1}) {
      const uint64_t seed = w.takes_seed ? 5 : 0;
      auto instance = w.make(size, seed);
      ASSERT_TRUE(instance.ok()) << instance.status();
      // The AIR is the listed one, the heights are those listed without the trace.
      EXPECT_EQ(AirDigest(instance->air), AirDigest(w.air()));
      auto rows = w.log_rows(size);
      ASSERT_TRUE(rows.ok()) << rows.status();
      ASSERT_EQ(rows->size(), instance->trace.tables.size());
      for (size_t t = 0; t < rows->size(); ++t) {
        EXPECT_EQ((*rows)[t], instance->trace.tables[t].log_rows()) << "table " << t;
      }
      // The public inputs without the trace equal the generator's.
      if (w.public_inputs != nullptr) {
        auto publics = w.public_inputs(size, seed);
        ASSERT_TRUE(publics.ok()) << publics.status();
        EXPECT_EQ(*publics, instance->public_inputs);
      }
      auto report = CheckTrace(instance->air, instance->trace, instance->public_inputs);
      ASSERT_TRUE(report.ok()) << report.status();
      EXPECT_TRUE(report->ok()) << report->Describe(instance->air);
    }
    EXPECT_FALSE(w.make(w.min_size - 1, 0).ok());
    EXPECT_FALSE(w.log_rows(w.max_size + 1).ok());
  }
  EXPECT_EQ(FindWorkload("sha256"), nullptr);
  EXPECT_EQ(names.size(), BuiltinWorkloads().size());
}

}  // namespace
}  // namespace prover::air
