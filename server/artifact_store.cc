#include "server/artifact_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>

#include "absl/strings/str_cat.h"

namespace prover::server {
namespace {

namespace fs = std::filesystem;

constexpr char kTmpSuffix[] = ".tmp";

// Shortage of a machine resource is UNAVAILABLE (transient, not the job's fault); the
// rest INTERNAL.
absl::Status Errno(std::string_view what, const std::string& path) {
  const int e = errno;
  const std::string message = absl::StrCat(std::string(what), " ", path, ": ", std::strerror(e));
  switch (e) {
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

// Opens an artifact for reading: a regular file only (an operator's FIFO or device in its
// place must not block the reader), without blocking on open.
absl::StatusOr<int> OpenRegular(const std::string& path, uint64_t* size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return absl::DataLossError(absl::StrCat(path, ": artifact is missing"));
    return Errno("open", path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const absl::Status s = Errno("stat", path);
    ::close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::DataLossError(absl::StrCat(path, ": artifact is not a regular file"));
  }
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  *size = uint64_t(st.st_size);
  return fd;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

absl::Status FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync", dir);
  return absl::OkStatus();
}

std::string UniqueSuffix() {
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat(".", ::getpid(), ".", counter.fetch_add(1));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ArtifactStore>> ArtifactStore::Open(const std::string& data_dir) {
  std::unique_ptr<ArtifactStore> store(new ArtifactStore(data_dir + "/artifacts"));
  for (ArtifactKind k : {ArtifactKind::kInput, ArtifactKind::kProof}) {
    std::error_code ec;
    fs::create_directories(store->DirOf(k), ec);
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("--data-dir: cannot create ", store->DirOf(k), ": ", ec.message()));
    }
  }
  return store;
}

std::string ArtifactStore::DirOf(ArtifactKind kind) const {
  return root_ + (kind == ArtifactKind::kInput ? "/inputs" : "/proofs");
}

std::string ArtifactStore::PathOf(ArtifactKind kind, std::string_view name) const {
  return absl::StrCat(DirOf(kind), "/", std::string(name),
                      kind == ArtifactKind::kInput ? ".input" : ".proof");
}

ArtifactStore::Writer::Writer(std::string tmp, std::string final_path, std::string dir, int fd)
    : tmp_(std::move(tmp)), final_(std::move(final_path)), dir_(std::move(dir)), fd_(fd) {}

ArtifactStore::Writer::~Writer() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

absl::Status ArtifactStore::Writer::Append(std::string_view bytes) {
  if (fd_ < 0) return absl::FailedPreconditionError("artifact writer is closed");
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", tmp_);
    }
    p += n;
    left -= size_t(n);
  }
  hash_.Update(bytes);
  bytes_ += bytes.size();
  return absl::OkStatus();
}

absl::StatusOr<ArtifactInfo> ArtifactStore::Writer::Commit() {
  if (fd_ < 0) return absl::FailedPreconditionError("artifact writer is closed");
  if (::fsync(fd_) != 0) return Errno("fsync", tmp_);
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_.c_str(), final_.c_str()) != 0) return Errno("rename", tmp_);
  committed_ = true;
  if (auto s = FsyncDir(dir_); !s.ok()) return s;
  return ArtifactInfo{hash_.FinalHex(), bytes_};
}

absl::StatusOr<std::unique_ptr<ArtifactStore::Writer>> ArtifactStore::StartWrite(
    ArtifactKind kind, std::string_view name) {
  if (!ValidName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact name '", std::string(name), "' is not valid"));
  }
  const std::string final_path = PathOf(kind, name);
  const std::string tmp = final_path + UniqueSuffix() + kTmpSuffix;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return Errno("create", tmp);
  return std::unique_ptr<Writer>(new Writer(tmp, final_path, DirOf(kind), fd));
}

absl::StatusOr<ArtifactInfo> ArtifactStore::Write(ArtifactKind kind, std::string_view name,
                                                  std::string_view bytes) {
  auto w = StartWrite(kind, name);
  if (!w.ok()) return w.status();
  if (auto s = (*w)->Append(bytes); !s.ok()) return s;
  return (*w)->Commit();
}

absl::StatusOr<std::string> ArtifactStore::Read(ArtifactKind kind, std::string_view name,
                                                const ArtifactInfo& expected) const {
  auto reader = OpenReader(kind, name, expected);  // a regular file of the expected length
  if (!reader.ok()) return reader.status();
  auto data = (*reader)->ReadAt(0, expected.bytes);
  if (!data.ok()) return data.status();
  const std::string actual = Sha256Hex(*data);
  if (actual != expected.sha256) {
    return absl::DataLossError(absl::StrCat((*reader)->path(), ": artifact is corrupted (sha256 ",
                                            actual, ", expected ", expected.sha256, ")"));
  }
  return data;
}

absl::StatusOr<std::unique_ptr<ArtifactStore::Reader>> ArtifactStore::OpenReader(
    ArtifactKind kind, std::string_view name, const ArtifactInfo& expected) const {
  if (!ValidName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact name '", std::string(name), "' is not valid"));
  }
  const std::string path = PathOf(kind, name);
  uint64_t size = 0;
  auto fd = OpenRegular(path, &size);
  if (!fd.ok()) return fd.status();
  if (size != expected.bytes) {
    ::close(*fd);
    return absl::DataLossError(absl::StrCat(path, ": artifact is corrupted (", size,
                                            " bytes, expected ", expected.bytes, ")"));
  }
  return std::unique_ptr<Reader>(new Reader(path, *fd, size));
}

ArtifactStore::Reader::~Reader() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<std::string> ArtifactStore::Reader::ReadAt(uint64_t offset, size_t max) {
  std::string out(size_t(std::min<uint64_t>(max, size_ - std::min(size_, offset))), '\0');
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + got, out.size() - got, off_t(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read", path_);
    }
    if (n == 0) return absl::DataLossError(absl::StrCat(path_, ": artifact is truncated"));
    got += size_t(n);
  }
  return out;
}

uint64_t ArtifactStore::FreeBytes() const {
  struct statvfs st;
  if (::statvfs(root_.c_str(), &st) != 0) return UINT64_MAX;
  return uint64_t(st.f_bavail) * st.f_frsize;
}

absl::Status ArtifactStore::Remove(ArtifactKind kind, std::string_view name) {
  if (!ValidName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact name '", std::string(name), "' is not valid"));
  }
  const std::string path = PathOf(kind, name);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("unlink", path);
  return absl::OkStatus();
}

std::vector<std::string> ArtifactStore::List(ArtifactKind kind) const {
  std::vector<std::string> out;
  const std::string ext = kind == ArtifactKind::kInput ? ".input" : ".proof";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(DirOf(kind), ec)) {
    const std::string f = e.path().filename().string();
    if (f.size() > ext.size() && f.compare(f.size() - ext.size(), ext.size(), ext) == 0) {
      out.push_back(f.substr(0, f.size() - ext.size()));
    }
  }
  return out;
}

int ArtifactStore::RemoveTemporaries(std::chrono::seconds older_than) {
  int removed = 0;
  const auto cutoff = fs::file_time_type::clock::now() - older_than;
  for (ArtifactKind k : {ArtifactKind::kInput, ArtifactKind::kProof}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(DirOf(k), ec)) {
      const std::string f = e.path().filename().string();
      if (f.size() > 4 && f.compare(f.size() - 4, 4, kTmpSuffix) == 0) {
        if (older_than.count() > 0) {
          std::error_code tec;
          const auto written = fs::last_write_time(e.path(), tec);
          if (tec || written > cutoff) continue;  // perhaps another process's write
        }
        fs::remove(e.path(), ec);
        ++removed;
      }
    }
  }
  return removed;
}

}  // namespace prover::server
