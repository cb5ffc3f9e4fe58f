"""The Python client of the proving service (prover.v1.Prover over gRPC).

    from prover_client import ProverClient
    from prover.v1 import prover_pb2
    client = ProverClient("127.0.0.1:50051", api_key=key)
    req = prover_pb2.SubmitProofRequest()
    req.builtin.workload, req.builtin.log_rows = "fibonacci", 12
    job = client.submit(req).job            # durable once it returns
    done = client.wait(job.job_id)          # the final Job
    proof = client.fetch(done.job_id)       # bytes, SHA-256 checked

The generated stubs (`prover.v1.prover_pb2`, `prover_pb2_grpc`) come from the protos in
proto/ (see client/python/README.md); this package is the thin layer over them with the same
rules as the C++ client (client/prover_client.h).
"""

from prover_client.client import ProverClient, ProofError, TERMINAL_STATES

__all__ = ["ProverClient", "ProofError", "TERMINAL_STATES"]
