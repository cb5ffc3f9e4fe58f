#include "server/artifact_store.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace prover::server {
namespace {

namespace fs = std::filesystem;

class ArtifactStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("artifact_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto s = ArtifactStore::Open(dir_.string());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::unique_ptr<ArtifactStore> store_;
};

TEST_F(ArtifactStoreTest, RoundTripWithTheStandardSha256) {
  auto info = store_->Write(ArtifactKind::kProof, "job1", "abc");
  ASSERT_TRUE(info.ok()) << info.status();
  // FIPS 180-2 test vector.
  EXPECT_EQ(info->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(info->bytes, 3u);
  auto back = store_->Read(ArtifactKind::kProof, "job1", *info);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, "abc");
  EXPECT_EQ(store_->List(ArtifactKind::kProof), std::vector<std::string>{"job1"});
  EXPECT_TRUE(store_->List(ArtifactKind::kInput).empty());
}

TEST_F(ArtifactStoreTest, CorruptedTruncatedOrMissingFilesAreDataLoss) {
  const std::string data(100000, 'x');
  auto info = store_->Write(ArtifactKind::kInput, "job2", data);
  ASSERT_TRUE(info.ok());
  const std::string path = store_->PathOf(ArtifactKind::kInput, "job2");
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4242);
    f.put('y');
  }
  auto flipped = store_->Read(ArtifactKind::kInput, "job2", *info);
  EXPECT_EQ(flipped.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(flipped.status().message()).find(path), std::string::npos);
  fs::resize_file(path, 10);
  EXPECT_EQ(store_->Read(ArtifactKind::kInput, "job2", *info).status().code(),
            absl::StatusCode::kDataLoss);
  fs::remove(path);
  EXPECT_EQ(store_->Read(ArtifactKind::kInput, "job2", *info).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(ArtifactStoreTest, StreamingWriteAndAbandonedWriters) {
  {
    auto w = store_->StartWrite(ArtifactKind::kInput, "up");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("ab").ok());
    ASSERT_TRUE((*w)->Append("c").ok());
    auto info = (*w)->Commit();
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }
  {
    auto w = store_->StartWrite(ArtifactKind::kInput, "abandoned");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("partial").ok());
  }  // destroyed without Commit: nothing remains
  EXPECT_EQ(store_->List(ArtifactKind::kInput), std::vector<std::string>{"up"});
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "artifacts" / "inputs")) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);
  // A crash mid-write leaves a temporary; start-up removes it.
  std::ofstream(dir_ / "artifacts" / "proofs" / "j.proof.1.2.tmp") << "junk";
  EXPECT_EQ(store_->RemoveTemporaries(), 1);
  EXPECT_TRUE(store_->List(ArtifactKind::kProof).empty());
  // Cluster mode: a temporary another node may still be writing stays; one interrupted an
  // hour ago goes.
  const fs::path fresh = dir_ / "artifacts" / "proofs" / "k.proof.3.4.tmp";
  const fs::path stale = dir_ / "artifacts" / "proofs" / "l.proof.5.6.tmp";
  std::ofstream(fresh) << "being written";
  std::ofstream(stale) << "left over";
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(2));
  EXPECT_EQ(store_->RemoveTemporaries(std::chrono::hours(1)), 1);
  EXPECT_TRUE(fs::exists(fresh));
  EXPECT_FALSE(fs::exists(stale));
}

// An operator's FIFO (or any non-regular file) in place of an artifact must not block the
// reader: it is refused at once.
TEST_F(ArtifactStoreTest, AFifoInPlaceOfAnArtifactIsRefusedWithoutBlocking) {
  auto info = store_->Write(ArtifactKind::kProof, "fifo", "abc");
  ASSERT_TRUE(info.ok());
  const std::string path = store_->PathOf(ArtifactKind::kProof, "fifo");
  fs::remove(path);
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto read = store_->Read(ArtifactKind::kProof, "fifo", *info);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << read.status();
  EXPECT_NE(read.status().message().find("not a regular file"), std::string::npos);
  EXPECT_EQ(store_->OpenReader(ArtifactKind::kProof, "fifo", *info).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(ArtifactStoreTest, ReaderReadsInPieces) {
  std::string data(10000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char(i * 7);
  auto info = store_->Write(ArtifactKind::kProof, "pieces", data);
  ASSERT_TRUE(info.ok());
  auto reader = store_->OpenReader(ArtifactKind::kProof, "pieces", *info);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::string back;
  while (back.size() < (*reader)->size()) {
    auto piece = (*reader)->ReadAt(back.size(), 3000);
    ASSERT_TRUE(piece.ok()) << piece.status();
    ASSERT_FALSE(piece->empty());
    back += *piece;
  }
  EXPECT_EQ(back, data);
  EXPECT_EQ(Sha256Hex(back), info->sha256);
  ArtifactInfo wrong = *info;
  wrong.bytes += 1;
  EXPECT_EQ(store_->OpenReader(ArtifactKind::kProof, "pieces", wrong).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(ArtifactStoreTest, NamesCannotEscapeTheDirectory) {
  for (const char* bad : {"", "../x", "a/b", "a.b", "x y"}) {
    EXPECT_EQ(store_->Write(ArtifactKind::kProof, bad, "z").status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace prover::server
