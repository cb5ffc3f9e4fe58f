#include "server/job.h"

namespace prover::server {

v1::Job ToProto(const JobRecord& r) {
  v1::Job j;
  j.set_job_id(r.id);
  j.set_state(r.state);
  if (r.state == v1::RUNNING) {
    j.set_stage(r.stage);
    j.set_progress(r.progress);
  }
  if (r.state == v1::SUCCEEDED) j.set_progress(1.0);
  j.set_cause(r.cause);
  j.set_error(r.error);
  j.set_request_id(r.request_id);
  j.set_workload(r.workload);
  j.set_priority(r.priority);
  j.set_engine(r.engine);
  j.set_attempts(r.attempts);
  j.set_created_ms(uint64_t(r.created_ms));
  j.set_started_ms(uint64_t(r.started_ms));
  j.set_finished_ms(uint64_t(r.finished_ms));
  j.set_deadline_ms(uint64_t(r.deadline_ms));
  j.set_proof_bytes(r.proof_bytes);
  j.set_proof_sha256(r.proof_sha256);
  j.set_prove_seconds(r.prove_seconds);
  j.set_security_bits(r.security_bits);
  j.set_proven_security_bits(r.proven_security_bits);
  j.set_node(r.lease_node);
  return j;
}

const char* JobStateName(v1::JobState s) {
  switch (s) {
    case v1::QUEUED:
      return "QUEUED";
    case v1::RUNNING:
      return "RUNNING";
    case v1::SUCCEEDED:
      return "SUCCEEDED";
    case v1::FAILED:
      return "FAILED";
    case v1::CANCELLED:
      return "CANCELLED";
    default:
      return "UNSPECIFIED";
  }
}

const char* FailureCauseName(v1::FailureCause c) {
  switch (c) {
    case v1::INVALID_INPUT:
      return "INVALID_INPUT";
    case v1::CONSTRAINTS_UNSATISFIED:
      return "CONSTRAINTS_UNSATISFIED";
    case v1::OUT_OF_MEMORY:
      return "OUT_OF_MEMORY";
    case v1::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case v1::INTERNAL:
      return "INTERNAL";
    case v1::QUARANTINED:
      return "QUARANTINED";
    case v1::STALLED:
      return "STALLED";
    default:
      return "NONE";
  }
}

}  // namespace prover::server
