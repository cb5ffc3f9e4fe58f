// The operations the CUDA engine's job (device_job.h) asks of a device: memory, transfers
// and coarse, batched kernels. Each kernel call covers every table (or every column) of a
// size class at once, so the number of launches per proof grows with the rounds and the
// size classes, never with the number of tables.
//
// One implementation, CudaDevice (cuda_device.cc): device memory from a stream-ordered pool,
// one CUDA stream per job, kernels in kernels/*.cu, every CUDA call through a Runtime
// (runtime.h): libcudart on a GPU, the host runtime (host_runtime.h) in CI, which runs the
// same per-element code (kernels/thread_bodies.h) on the host. Everything stays on the GPU;
// only the results a round returns (roots, sums, out-of-domain values, openings) come back.
//
// Pointers are device addresses. Field values are canonical u64; an extension value is
// three u64 either interleaved (FRI layers, DEEP targets) or as three base columns (aux and
// quotient columns), as each call states.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"
#include "kernels/bodies.h"
#include "kernels/descriptors.h"
#include "kernels/program.h"

namespace prover::backend::cuda {

using kernels::AuxTable;
using kernels::DeviceDomain;
using kernels::FoldArgs;
using kernels::PolyEval;
using kernels::QuotientTable;
using kernels::TableProgram;
using kernels::TreeMatrix;

struct DeviceStats {
  uint64_t launches = 0;
  uint64_t bytes_to_device = 0, bytes_to_host = 0;
};

class Device {
 public:
  virtual ~Device() = default;
  virtual std::string name() const = 0;

  // Memory. Alloc fails with RESOURCE_EXHAUSTED past the device's budget.
  virtual absl::StatusOr<uint64_t*> Alloc(uint64_t words) = 0;
  virtual void Free(uint64_t* p) = 0;
  virtual absl::Status Upload(uint64_t* dst, const uint64_t* src, uint64_t words) = 0;
  // Waits for the work before it, then copies.
  virtual absl::Status Download(uint64_t* dst, const uint64_t* src, uint64_t words) = 0;
  virtual absl::Status Zero(uint64_t* dst, uint64_t words) = 0;
  virtual absl::Status Sync() = 0;
  virtual absl::StatusOr<const DeviceDomain*> Domain(int log_n, int log_blowup, Fp shift) = 0;
  // Copies small host arrays (kernel arguments) to device memory that stays valid until
  // the next Sync (the job's arena).
  virtual absl::StatusOr<void*> Stage(const void* host, uint64_t bytes) = 0;

  // In-place NTT of each column (natural -> bit-reversed, no 1/n), twiddles of `domain`
  // (its N >= 2^log_n).
  virtual absl::Status Ntt(std::span<uint64_t* const> cols, int log_n, const DeviceDomain& domain,
                           bool inverse) = 0;
  // In place: col[i] <-> col[bitrev(i)], then every value times `scale`.
  virtual absl::Status BitReverse(std::span<uint64_t* const> cols, int log_n, Fp scale) = 0;
  // dst[c][k] = src[c][k] * scale[c] * (shift_pows ? shift_pows[k] : 1) for k < 2^log_n,
  // 0 for 2^log_n <= k < 2^log_len.
  virtual absl::Status Spread(std::span<const uint64_t* const> src, std::span<uint64_t* const> dst,
                              std::span<const Fp> scale, int log_n, int log_len,
                              const Fp* shift_pows) = 0;
  // One Merkle tree over matrices of mixed heights (engine/hash/merkle.h), in the given
  // order, into nodes (2H digests of 4 words, heap order). Each matrix's row digests go to
  // its `digests` (rows x 4 words); only a matrix alone at the tallest height may leave it
  // null, its digests then being the bottom level itself.
  virtual absl::Status MerkleTree(std::span<const TreeMatrix> matrices, uint64_t* nodes) = 0;
  // Round 2 of every table with interactions. Returns the lowest row, over all tables, on
  // which a fingerprint vanishes as (table index, row), or (-1, 0).
  virtual absl::StatusOr<std::pair<int, uint64_t>> AuxColumns(std::span<const AuxTable> tables) = 0;
  virtual absl::Status Quotients(std::span<const QuotientTable> tables) = 0;
  // True when every value of cols[c][begin, end) is zero.
  virtual absl::StatusOr<bool> AllZero(std::span<const uint64_t* const> cols, uint64_t begin,
                                       uint64_t end) = 0;
  virtual absl::StatusOr<std::vector<Fp3>> EvalPolys(std::span<const PolyEval> polys) = 0;
  // DEEP codewords of the given tables added into their targets.
  virtual absl::Status Deep(std::span<const kernels::DeepTable> tables, Fp lde_shift) = 0;
  // twiddles[c] = w_M^-bitrev_{M/2}(c) for c < M/2 (M = 2^log_m), at least one entry.
  virtual absl::Status FoldTwiddles(uint64_t* out, int log_m) = 0;
  virtual absl::Status Fold(const FoldArgs& args) = 0;
  // out[i] = *addresses[i] (device addresses), then copied to the host.
  virtual absl::Status Gather(std::span<const uint64_t* const> addresses, uint64_t* host_out) = 0;

  virtual DeviceStats stats() const = 0;
};

}  // namespace prover::backend::cuda
