// Traces and proofs on the local filesystem, under DATA_DIR/artifacts/{inputs,proofs}/.
//
// Writes are atomic and durable: the bytes go to a temporary file in the same directory
// (O_EXCL), are fsync'ed, renamed over the final name, and the directory is fsync'ed. A
// crash leaves either the old state or the new file, never a partial one; leftovers of
// interrupted writes end in ".tmp" and are removed by RemoveTemporaries() at start-up.
// Every artifact's SHA-256 is returned by the write and must be presented to read it: a
// file whose bytes do not hash to it is DATA_LOSS and its bytes are never returned.
//
// Errors: UNAVAILABLE when the machine is short of a resource (no space left, descriptor
// or memory exhaustion: retry later, the job is not at fault), DATA_LOSS for a missing or
// damaged artifact, INTERNAL otherwise.
//
// Thread-safe: different names may be written and read concurrently; one name is written
// once (by the job that owns it).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/sha256.h"

namespace prover::server {

enum class ArtifactKind { kInput, kProof };

struct ArtifactInfo {
  std::string sha256;  // hex
  uint64_t bytes = 0;
};

class ArtifactStore {
 public:
  // Creates the directories when missing.
  static absl::StatusOr<std::unique_ptr<ArtifactStore>> Open(const std::string& data_dir);

  // A streaming write (large uploads): Append as the bytes arrive, then Commit. Destroying
  // an uncommitted writer removes its temporary file.
  class Writer {
   public:
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    absl::Status Append(std::string_view bytes);
    absl::StatusOr<ArtifactInfo> Commit();
    uint64_t bytes() const { return bytes_; }

   private:
    friend class ArtifactStore;
    Writer(std::string tmp, std::string final_path, std::string dir, int fd);
    std::string tmp_, final_, dir_;
    int fd_ = -1;
    uint64_t bytes_ = 0;
    Sha256 hash_;
    bool committed_ = false;
  };

  // `name` is a job id: [A-Za-z0-9_-], 1..64 characters (INVALID_ARGUMENT otherwise).
  absl::StatusOr<std::unique_ptr<Writer>> StartWrite(ArtifactKind kind, std::string_view name);
  absl::StatusOr<ArtifactInfo> Write(ArtifactKind kind, std::string_view name,
                                     std::string_view bytes);
  // DATA_LOSS when missing, not a regular file, or when the bytes do not match `sha256` (or
  // their length is not `bytes`), naming the file.
  absl::StatusOr<std::string> Read(ArtifactKind kind, std::string_view name,
                                   const ArtifactInfo& expected) const;

  // Reads an artifact in pieces (proof streams): Open checks that it is a regular file of
  // the expected length; ReadAt returns up to `max` bytes from `offset`; the caller hashes
  // what it reads and compares with the expected SHA-256 at the end.
  class Reader {
   public:
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    absl::StatusOr<std::string> ReadAt(uint64_t offset, size_t max);
    uint64_t size() const { return size_; }
    const std::string& path() const { return path_; }

   private:
    friend class ArtifactStore;
    Reader(std::string path, int fd, uint64_t size)
        : path_(std::move(path)), fd_(fd), size_(size) {}
    std::string path_;
    int fd_ = -1;
    uint64_t size_ = 0;
  };
  absl::StatusOr<std::unique_ptr<Reader>> OpenReader(ArtifactKind kind, std::string_view name,
                                                     const ArtifactInfo& expected) const;

  // Free bytes of the file system that holds the artifacts.
  uint64_t FreeBytes() const;
  // OK when it did not exist.
  absl::Status Remove(ArtifactKind kind, std::string_view name);
  // The names present (not temporaries).
  std::vector<std::string> List(ArtifactKind kind) const;
  // Deletes leftovers of interrupted writes; returns how many. `older_than` > 0: only those
  // last written that long ago (a directory other processes write into: cluster mode).
  int RemoveTemporaries(std::chrono::seconds older_than = std::chrono::seconds(0));

  std::string PathOf(ArtifactKind kind, std::string_view name) const;

 private:
  explicit ArtifactStore(std::string root) : root_(std::move(root)) {}
  std::string DirOf(ArtifactKind kind) const;
  std::string root_;
};

}  // namespace prover::server
