"""ProverClient: submit, wait, fetch (and the other calls) with the C++ client's rules.

- Every call sends `authorization: Bearer KEY` when a key is given.
- submit() gives the request a fresh request id when it has none, and retries UNAVAILABLE
  up to four times (after 0.4, 0.8 and 1.6 s) with that same id: a retry can never make a
  second job. Other errors are raised at once (grpc.RpcError, with the server's code and
  message, the field path first for INVALID_ARGUMENT).
- Traces larger than `inline_limit` go through the UploadProof stream in 1 MiB chunks.
- wait() long-polls WaitJob until the job is final (or `timeout` seconds pass).
- fetch() streams GetProof, checks the chunks' offsets and total size, and the SHA-256 of the
  whole proof against the one the server sent last: a mismatch raises ProofError, never
  returns bytes.
"""

import hashlib
import secrets
import time

import grpc

from prover.v1 import prover_pb2, prover_pb2_grpc

TERMINAL_STATES = frozenset(
    [prover_pb2.SUCCEEDED, prover_pb2.FAILED, prover_pb2.CANCELLED])


class ProofError(Exception):
    """A proof transfer that is incomplete or does not match its checksum."""


class ProverClient:
    def __init__(self, target, api_key=None, root_certificates=None,
                 max_message_bytes=64 << 20, call_timeout=60.0):
        options = [("grpc.max_receive_message_length", max_message_bytes),
                   ("grpc.max_send_message_length", max_message_bytes)]
        if root_certificates is not None:
            creds = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            self._channel = grpc.secure_channel(target, creds, options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        self._stub = prover_pb2_grpc.ProverStub(self._channel)
        self._metadata = [("authorization", "Bearer " + api_key)] if api_key else []
        self._timeout = call_timeout

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Submitting ---------------------------------------------------------------------------

    def submit(self, request, inline_limit=4 << 20):
        req = prover_pb2.SubmitProofRequest()
        req.CopyFrom(request)
        if not req.request_id:
            req.request_id = "py-" + secrets.token_hex(16)
        if req.HasField("user") and len(req.user.trace) > inline_limit:
            trace = req.user.trace
            req.user.trace = b""
            return self.upload(req, trace)
        last = None
        for attempt in range(4):
            if attempt > 0:
                time.sleep((200 << attempt) / 1000.0)
            try:
                return self._stub.SubmitProof(req, metadata=self._metadata,
                                              timeout=self._timeout)
            except grpc.RpcError as e:
                last = e
                if e.code() != grpc.StatusCode.UNAVAILABLE:
                    break
        raise last

    def upload(self, request, trace, chunk_bytes=1 << 20):
        req = prover_pb2.SubmitProofRequest()
        req.CopyFrom(request)
        if not req.request_id:
            req.request_id = "py-" + secrets.token_hex(16)

        def messages():
            yield prover_pb2.UploadProofRequest(request=req)
            for off in range(0, len(trace), chunk_bytes):
                yield prover_pb2.UploadProofRequest(trace_chunk=trace[off:off + chunk_bytes])

        return self._stub.UploadProof(messages(), metadata=self._metadata)

    # Jobs -----------------------------------------------------------------------------------

    def get(self, job_id):
        return self._stub.GetJob(prover_pb2.GetJobRequest(job_id=job_id),
                                 metadata=self._metadata, timeout=self._timeout)

    def wait(self, job_id, timeout=None):
        """The job once it is final, or its state when `timeout` seconds have passed."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 60.0 if end is None else max(0.001, min(60.0, end - time.monotonic()))
            job = self._stub.WaitJob(
                prover_pb2.WaitJobRequest(job_id=job_id, timeout_ms=int(left * 1000)),
                metadata=self._metadata, timeout=left + 10)
            if job.state in TERMINAL_STATES or (end is not None and time.monotonic() >= end):
                return job

    def watch(self, job_id):
        """Every state of the job, the final one last."""
        yield from self._stub.WatchJob(prover_pb2.WatchJobRequest(job_id=job_id),
                                       metadata=self._metadata)

    def cancel(self, job_id):
        return self._stub.CancelJob(prover_pb2.CancelJobRequest(job_id=job_id),
                                    metadata=self._metadata, timeout=self._timeout)

    def list(self, states=(), workload="", page_size=0, page_token=""):
        return self._stub.ListJobs(
            prover_pb2.ListJobsRequest(states=list(states), workload=workload,
                                       page_size=page_size, page_token=page_token),
            metadata=self._metadata, timeout=self._timeout)

    # Proofs -----------------------------------------------------------------------------------

    def fetch(self, job_id, chunk_bytes=0):
        data = bytearray()
        total, sha256 = None, ""
        for chunk in self._stub.GetProof(
                prover_pb2.GetProofRequest(job_id=job_id, chunk_bytes=chunk_bytes),
                metadata=self._metadata):
            if chunk.offset != len(data):
                raise ProofError(f"proof of job {job_id}: chunk at offset {chunk.offset}, "
                                 f"expected {len(data)}")
            data += chunk.data
            total = chunk.total_bytes
            if chunk.sha256:
                sha256 = chunk.sha256
        if total is None or len(data) != total or not sha256:
            raise ProofError(f"proof of job {job_id}: incomplete transfer")
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise ProofError(f"proof of job {job_id}: sha256 {actual} does not match the "
                             f"server's {sha256}")
        return bytes(data)

    def verify(self, request):
        return self._stub.VerifyProof(request, metadata=self._metadata, timeout=self._timeout)

    def server_info(self):
        return self._stub.GetServerInfo(prover_pb2.GetServerInfoRequest(),
                                        metadata=self._metadata, timeout=self._timeout)
