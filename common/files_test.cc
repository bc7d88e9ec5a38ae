// Secret files: refused when others can read them, with the file and its mode
// named. The tests run as root (files created here belong to root) and chown
// one file to another user.
#include "common/files.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pgvigil-secret-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    dir_ = tmpl;
  }
  void TearDown() override {
    unlink(Path().c_str());
    rmdir(dir_.c_str());
  }
  std::string Path() const { return dir_ + "/api.token"; }
  void Write(mode_t mode) {
    ASSERT_TRUE(WriteFileAtomic(Path(), "s3cret\n", 0600).ok());
    ASSERT_EQ(chmod(Path().c_str(), mode), 0);
  }
  std::string dir_;
};

// State files: no file yet is no content, not an error.
TEST_F(SecretFileTest, AFileNotThereYetIsNoContentNotAnError) {
  auto none = ReadFileIfPresent(Path());
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_FALSE(none->has_value());
  Write(0600);
  auto some = ReadFileIfPresent(Path());
  ASSERT_TRUE(some.ok()) << some.error();
  ASSERT_TRUE(some->has_value());
  EXPECT_EQ(**some, "s3cret\n");
}

TEST_F(SecretFileTest, PrivateFilesAreRead) {
  for (mode_t mode : {0600, 0400, 0700}) {
    Write(mode);
    auto s = ReadSecretFile(Path());
    ASSERT_TRUE(s.ok()) << std::oct << mode << ": " << s.error();
    EXPECT_EQ(*s, "s3cret");
  }
}

TEST_F(SecretFileTest, GroupOrWorldAccessIsRefusedNamingFileAndMode) {
  ASSERT_EQ(geteuid(), 0u) << "runs as root (files here belong to root)";
  struct Case {
    mode_t mode;
    const char* shown;
  } cases[] = {{0644, "0644"}, {0604, "0604"}, {0660, "0660"}, {0620, "0620"}, {0666, "0666"}};
  for (const auto& c : cases) {
    Write(c.mode);
    auto s = ReadSecretFile(Path());
    ASSERT_FALSE(s.ok()) << c.shown;
    EXPECT_NE(s.error().find(Path()), std::string::npos) << s.error();
    EXPECT_NE(s.error().find(std::string("mode ") + c.shown), std::string::npos) << s.error();
    EXPECT_NE(s.error().find("chmod 600"), std::string::npos) << s.error();
  }
}

TEST_F(SecretFileTest, RootOwnedMayBeGroupReadable) {
  ASSERT_EQ(geteuid(), 0u);
  Write(0640);
  EXPECT_TRUE(CheckSecretFileMode(Path()).ok());
  // The same mode on a file of another user is refused.
  struct passwd* nobody = getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  ASSERT_EQ(chown(Path().c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  Status s = CheckSecretFileMode(Path());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("mode 0640"), std::string::npos) << s.message();
}

TEST_F(SecretFileTest, MissingFileIsAnError) {
  auto s = ReadSecretFile(dir_ + "/none");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find(dir_ + "/none"), std::string::npos) << s.error();
}

}  // namespace
}  // namespace pgvigil
