// The row-by-row constraint checker and the exact bus-balance check: the reference for
// "does this trace satisfy this AIR", used by `prover check` and by the prover before it
// commits to anything.
//
// Constraints are evaluated on every row they apply to; failures are listed in (table,
// row, constraint) order up to a cap, and all of them are counted. Constraints that
// mention challenges are checked at fixed pseudo-random challenge values (a false pass has
// probability about degree / p^3). Buses are checked exactly: the multiplicities of every
// (bus, tuple) over all rows of all tables must sum to zero.
#pragma once

#include <cstdint>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/air/air.h"
#include "engine/air/trace.h"

namespace prover::air {

struct ConstraintFailure {
  uint32_t table = 0;
  uint64_t row = 0;
  uint32_t constraint = 0;
};

struct BusImbalance {
  uint32_t bus = 0;
  std::vector<Fp> tuple;
  Fp net_multiplicity;
  uint32_t table = 0;  // where the tuple first occurs
  uint64_t row = 0;
};

struct CheckReport {
  uint64_t failure_count = 0;               // every failing (table, row, constraint)
  std::vector<ConstraintFailure> failures;  // the first max_failures of them, in order
  std::vector<BusImbalance> imbalances;     // the first max_failures unbalanced tuples
  uint64_t imbalance_count = 0;
  bool ok() const { return failure_count == 0 && imbalance_count == 0; }
  // One line per listed failure, e.g.
  // "tables[0] (fib) row 17: constraints[3] (b_next) is not satisfied".
  std::string Describe(const Air& air) const;
};

// The trace and public inputs fit the AIR: table count, column counts, fixed heights,
// number of public inputs. INVALID_ARGUMENT with the path otherwise.
absl::Status CheckShapes(const Air& air, const Trace& trace, std::span<const Fp> public_inputs);

// Shapes first (an error), then every constraint and bus (the report). `stop` is polled
// every 64 rows: once requested, CANCELLED soon.
absl::StatusOr<CheckReport> CheckTrace(const Air& air, const Trace& trace,
                                       std::span<const Fp> public_inputs, size_t max_failures = 100,
                                       const std::stop_token& stop = {});

// OK for a clean report, else FAILED_PRECONDITION naming the first failure and the count.
absl::Status ReportToStatus(const Air& air, const CheckReport& report);

}  // namespace prover::air
