// A job as the service keeps it: the durable row (job_store.h) and what clients see
// (prover.v1.Job).
#pragma once

#include <cstdint>
#include <string>

#include "prover/v1/prover.pb.h"

namespace prover::server {

struct JobRecord {
  std::string id;
  std::string tenant;
  std::string request_id;    // may be empty
  std::string content_hash;  // hex SHA-256 of the request content (ContentHash)
  v1::JobState state = v1::QUEUED;
  v1::FailureCause cause = v1::FAILURE_CAUSE_UNSPECIFIED;
  std::string error;
  std::string workload;  // fibonacci, zkvm, custom
  int32_t priority = 0;
  std::string engine;
  uint32_t attempts = 0;
  int64_t created_ms = 0, started_ms = 0, finished_ms = 0, deadline_ms = 0;
  uint64_t proof_bytes = 0;
  std::string proof_sha256;
  double prove_seconds = 0;
  uint32_t security_bits = 0;         // the proof's conjectured figure
  uint32_t proven_security_bits = 0;  // and its proven one (schema 7)
  // The request as submitted, with user.trace moved to the input artifact. Written with
  // the job's first row and never changed; held in memory only until that row is
  // committed (JobStore::LoadRequest reads it back when the job runs).
  std::string request;
  uint64_t request_bytes = 0;
  std::string input_sha256;  // user statements: the trace artifact
  uint64_t input_bytes = 0;
  uint64_t estimated_bytes = 0;  // peak memory estimate for admission
  // Times the process died while this job was RUNNING (quarantine after --max-crashes).
  uint32_t crashes = 0;
  // When the job last entered the queue: the order among a tenant's jobs of one priority
  // (a job requeued after a crash goes behind the jobs already waiting).
  int64_t queued_ms = 0;
  // A cancel of a running job, durable before it is acknowledged.
  bool cancel_requested = false;
  // The W3C trace id the submission carried (traceparent metadata), on every log line of the
  // job; empty when none.
  std::string trace_id;
  // Cluster claims (job_store.h, Claim): the node holding the RUNNING job and until when;
  // empty and 0 otherwise. `attempts` is the claim's fencing token.
  std::string lease_node;
  int64_t lease_expires_ms = 0;

  // Not durable: where a running job is.
  std::string stage;
  double progress = 0;

  // Bytes this job holds in the data directory (quotas).
  uint64_t stored_bytes() const { return request_bytes + input_bytes + proof_bytes; }

  bool final() const {
    return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::CANCELLED;
  }
};

v1::Job ToProto(const JobRecord& r);
const char* JobStateName(v1::JobState s);
const char* FailureCauseName(v1::FailureCause c);

}  // namespace prover::server
