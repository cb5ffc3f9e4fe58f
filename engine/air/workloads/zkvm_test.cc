#include "engine/air/workloads/zkvm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "engine/air/checker.h"
#include "engine/air/eval.h"

namespace prover::air {
namespace {

CheckReport Check(const WorkloadInstance& w) {
  auto report = CheckTrace(w.air, w.trace, w.public_inputs);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? *report : CheckReport{};
}

uint32_t ColumnIndex(const Table& table, const std::string& name) {
  auto it = std::find(table.column_names.begin(), table.column_names.end(), name);
  EXPECT_NE(it, table.column_names.end()) << table.name << " has no column " << name;
  return static_cast<uint32_t>(it - table.column_names.begin());
}

TEST(Zkvm, AirValidatesAndMeetsTheProverDegreeBounds) {
  const Air air = ZkvmAir();
  ASSERT_TRUE(Validate(air).ok()) << Validate(air);
  EXPECT_EQ(air.max_constraint_degree, 3u);
  ASSERT_EQ(air.tables.size(), size_t{kZkvmNumTables});
  for (const Table& t : air.tables) {
    const std::vector<uint32_t> degree = NodeDegrees(t);
    for (const Constraint& c : t.constraints) {
      EXPECT_LE(degree[c.expr], 3u) << t.name << "." << c.name;
      if (c.kind == ConstraintKind::kFirstRow || c.kind == ConstraintKind::kLastRow) {
        EXPECT_LE(degree[c.expr], 2u) << t.name << "." << c.name;
      }
    }
    for (const Interaction& in : t.interactions) {
      EXPECT_LE(degree[in.multiplicity], 2u) << t.name;
      for (uint32_t v : in.values) EXPECT_LE(degree[v], 2u) << t.name;
    }
  }
  // The AIR does not depend on the scale or the seed.
  auto a = Zkvm(10, 1), b = Zkvm(12, 9);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(AirDigest(a->air), AirDigest(air));
  EXPECT_EQ(AirDigest(b->air), AirDigest(air));
}

TEST(Zkvm, MainTableIsWideWithDegreeThreeConstraints) {
  const Air air = ZkvmAir();
  const Table& cpu = air.tables[kZkvmCpu];
  EXPECT_GE(cpu.num_columns, 70u);
  const std::vector<uint32_t> degree = NodeDegrees(cpu);
  int cubic = 0;
  for (const Constraint& c : cpu.constraints) cubic += degree[c.expr] == 3;
  EXPECT_GE(cubic, 16) << "register updates, operand selection and the branch are degree 3";
}

TEST(Zkvm, BusesAreSharedAndVaried) {
  const Air air = ZkvmAir();
  std::map<uint32_t, std::set<uint32_t>> tables_on_bus;
  std::set<size_t> tuple_lengths;
  size_t interactions = 0;
  for (uint32_t t = 0; t < air.tables.size(); ++t) {
    for (const Interaction& in : air.tables[t].interactions) {
      tables_on_bus[in.bus].insert(t);
      tuple_lengths.insert(in.values.size());
      ++interactions;
    }
  }
  EXPECT_GE(tables_on_bus.size(), 9u);
  EXPECT_GE(tables_on_bus[kZkvmRange16Bus].size(), 6u);  // five users and the table
  EXPECT_GE(tables_on_bus[kZkvmAluBus].size(), 6u);
  EXPECT_EQ(*tuple_lengths.begin(), 1u);
  EXPECT_GE(*tuple_lengths.rbegin(), 4u);
  EXPECT_GE(interactions, 40u);
  for (uint32_t t = 0; t < air.tables.size(); ++t) {
    EXPECT_FALSE(air.tables[t].interactions.empty()) << air.tables[t].name;
  }
}

TEST(Zkvm, TableHeights) {
  for (int k : {10, 13}) {
    auto w = Zkvm(k);
    ASSERT_TRUE(w.ok()) << w.status();
    const Trace& tr = w->trace;
    EXPECT_EQ(tr.tables[kZkvmCpu].log_rows(), k);
    EXPECT_EQ(tr.tables[kZkvmProgram].log_rows(), k - 3);
    EXPECT_EQ(tr.tables[kZkvmMemory].log_rows(), k - 1);
    EXPECT_EQ(tr.tables[kZkvmAlu].log_rows(), k - 1);
    EXPECT_EQ(tr.tables[kZkvmBitwise].log_rows(), k - 2);
    EXPECT_EQ(w->air.tables[kZkvmRange16].fixed_log_rows, 16);
    EXPECT_EQ(tr.tables[kZkvmRange16].log_rows(), 16);
    int small = 0;
    for (uint32_t t = kZkvmXor4; t < kZkvmNumTables; ++t) {
      const int h = tr.tables[t].log_rows();
      EXPECT_GE(h, 8) << w->air.tables[t].name;
      EXPECT_LE(h, 14) << w->air.tables[t].name;
      ++small;
    }
    EXPECT_EQ(small, 10);
    // ZkvmLogRows predicts every height without building the trace.
    auto predicted = ZkvmLogRows(k);
    ASSERT_TRUE(predicted.ok()) << predicted.status();
    ASSERT_EQ(predicted->size(), tr.tables.size());
    for (size_t t = 0; t < tr.tables.size(); ++t) {
      EXPECT_EQ((*predicted)[t], tr.tables[t].log_rows()) << w->air.tables[t].name;
    }
  }
  EXPECT_FALSE(ZkvmLogRows(kZkvmMinScale - 1).ok());
  EXPECT_FALSE(ZkvmLogRows(kZkvmMaxScale + 1).ok());
  // Small tables do not depend on the scale.
  auto a = Zkvm(10), b = Zkvm(15);
  for (uint32_t t = kZkvmXor4; t < kZkvmNumTables; ++t) {
    EXPECT_EQ(a->trace.tables[t].log_rows(), b->trace.tables[t].log_rows());
  }
}

TEST(Zkvm, TracesSatisfyTheAir) {
  for (int k : {10, 12, 14}) {
    for (uint64_t seed : {0u, 1u, 7u}) {
      auto w = Zkvm(k, seed);
      ASSERT_TRUE(w.ok()) << w.status();
      const CheckReport report = Check(*w);
      EXPECT_TRUE(report.ok()) << "scale " << k << " seed " << seed << "\n"
                               << report.Describe(w->air);
    }
  }
}

TEST(Zkvm, EveryScaleUpTo16) {
  for (int k = kZkvmMinScale; k <= 16; ++k) {
    auto w = Zkvm(k, /*seed=*/3);
    ASSERT_TRUE(w.ok()) << w.status();
    const CheckReport report = Check(*w);
    EXPECT_TRUE(report.ok()) << "scale " << k << "\n" << report.Describe(w->air);
    // The program fills most of the CPU table before it halts.
    const uint64_t cycles = w->public_inputs[4].value();
    EXPECT_LT(cycles, uint64_t{1} << k);
    EXPECT_GT(cycles, (uint64_t{1} << k) * 3 / 4);
  }
}

// The CPU's padding rows (HALT repeated after the program ends) touch no bus.
TEST(Zkvm, PaddingRowsHaveZeroMultiplicities) {
  auto w = Zkvm(10, 2);
  ASSERT_TRUE(w.ok());
  const Table& cpu = w->air.tables[kZkvmCpu];
  const TableTrace& tt = w->trace.tables[kZkvmCpu];
  const size_t last = tt.rows() - 1;
  ASSERT_LT(w->public_inputs[4].value() + 1, last);  // at least two HALT rows
  std::vector<Fp> row(cpu.num_columns), values;
  for (uint32_t c = 0; c < cpu.num_columns; ++c) row[c] = tt.at(c, last);
  EvaluateRow<Fp>(cpu, row, row, w->public_inputs, {}, values);
  for (const Interaction& in : cpu.interactions) {
    EXPECT_EQ(values[in.multiplicity], Fp::Zero()) << "bus " << in.bus;
  }
}

// The stored values are the Fibonacci sequence mod 2^32 from (a0, a1), and the public
// result is its last term, also output at index 0.
TEST(Zkvm, ComputesFibonacci) {
  auto w = Zkvm(11, 5);
  ASSERT_TRUE(w.ok());
  const uint64_t a0 = w->public_inputs[0].value(), a1 = w->public_inputs[1].value();
  const Table& mem_air = w->air.tables[kZkvmMemory];
  const TableTrace& mem = w->trace.tables[kZkvmMemory];
  const uint32_t addr = ColumnIndex(mem_air, "addr"), value = ColumnIndex(mem_air, "value");
  const uint32_t is_write = ColumnIndex(mem_air, "is_write");
  const uint32_t is_real = ColumnIndex(mem_air, "is_real");
  std::map<uint64_t, uint64_t> stored;  // first write per address >= 16
  for (size_t r = 0; r < mem.rows() && mem.at(is_real, r) == Fp::One(); ++r) {
    if (mem.at(is_write, r) == Fp::One() && mem.at(addr, r).value() >= 16) {
      stored.try_emplace(mem.at(addr, r).value(), mem.at(value, r).value());
    }
  }
  ASSERT_GT(stored.size(), 100u);
  uint64_t x = a0, y = a1, n = 0;
  for (const auto& [address, v] : stored) {
    EXPECT_EQ(address, 16 + n);
    const uint64_t next = (x + y) & 0xffffffffu;
    ASSERT_EQ(v, next) << "step " << n;
    x = y;
    y = next;
    ++n;
  }
  EXPECT_EQ(w->public_inputs[3].value(), y);
  const TableTrace& io = w->trace.tables[kZkvmIo];
  EXPECT_EQ(io.at(1, 0).value(), y);  // output[0] = result
  EXPECT_EQ(io.at(2, 0), Fp::One());  // looked up once
  EXPECT_EQ(io.at(2, 1), Fp::One());  // output[1] = digest
}

TEST(Zkvm, Deterministic) {
  auto a = Zkvm(12, 42), b = Zkvm(12, 42);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(EncodeTrace(a->trace), EncodeTrace(b->trace));
  EXPECT_EQ(a->public_inputs, b->public_inputs);
}

TEST(Zkvm, SeedsGiveDifferentTraces) {
  auto a = Zkvm(11, 0), b = Zkvm(11, 1);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(EncodeTrace(a->trace), EncodeTrace(b->trace));
  EXPECT_NE(a->public_inputs[0], b->public_inputs[0]);
  EXPECT_NE(a->public_inputs[3], b->public_inputs[3]);
}

TEST(Zkvm, ScaleOutOfRange) {
  for (int k : {-1, 0, 9, 25, 40}) {
    auto w = Zkvm(k);
    EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument) << k;
    EXPECT_NE(w.status().message().find("[10, 24]"), std::string::npos) << w.status();
  }
}

// Soundness spot checks: one changed value is caught.
TEST(Zkvm, ChangedRegisterIsCaught) {
  auto w = Zkvm(10, 7);
  ASSERT_TRUE(w.ok());
  const uint32_t r2 = ColumnIndex(w->air.tables[kZkvmCpu], "r2_lo");
  w->trace.tables[kZkvmCpu].at(r2, 300) += Fp::One();
  EXPECT_FALSE(Check(*w).ok());
}

TEST(Zkvm, ChangedRangeCountBreaksTheBus) {
  auto w = Zkvm(10, 7);
  ASSERT_TRUE(w.ok());
  w->trace.tables[kZkvmRange16].at(/*mult=*/1, 12345) += Fp::One();
  const CheckReport report = Check(*w);
  EXPECT_EQ(report.failure_count, 0u);
  EXPECT_GT(report.imbalance_count, 0u);
}

TEST(Zkvm, ChangedValuesElsewhereAreCaught) {
  struct Case {
    ZkvmTable table;
    const char* column;
    size_t row;
  };
  for (const Case& c :
       {Case{kZkvmCpu, "c_hi", 10}, Case{kZkvmCpu, "pc", 500}, Case{kZkvmMemory, "value", 40},
        Case{kZkvmAlu, "c_lo", 3}, Case{kZkvmBitwise, "c5", 2}, Case{kZkvmProgram, "imm_lo", 3},
        Case{kZkvmMul, "c_hi", 1}, Case{kZkvmXor4, "mult", 17}}) {
    auto w = Zkvm(10, 1);
    ASSERT_TRUE(w.ok());
    const uint32_t col = ColumnIndex(w->air.tables[c.table], c.column);
    w->trace.tables[c.table].at(col, c.row) += Fp::One();
    EXPECT_FALSE(Check(*w).ok()) << w->air.tables[c.table].name << "." << c.column;
  }
  auto w = Zkvm(10, 1);
  w->public_inputs[3] += Fp::One();  // a wrong result
  EXPECT_GT(Check(*w).failure_count, 0u);
}

}  // namespace
}  // namespace prover::air
