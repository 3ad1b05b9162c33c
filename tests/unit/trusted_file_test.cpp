// cli/trusted_file: the user's settings are read only from a file no one else could have
// written or swapped, through the one descriptor that was checked. The tests run as root in CI
// and as a user elsewhere; "another user" is uid 65534 (nobody), given with chown where allowed.
#include "cli/trusted_file.h"

#include "cli/usage_error.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace tr::cli {
namespace {

constexpr uid_t other_user = 65534;

std::string refusal(const std::string &path) {
    try {
        read_trusted_file(path);
    } catch (const InputError &e) {
        return e.what();
    }
    return "";
}

void write_file(const std::string &path, const std::string &text, mode_t mode) {
    std::ofstream(path, std::ios::trunc) << text;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

TEST(TrustedFile, TheUsersOwnPrivateFileIsReadWithItsMode) {
    const test::TempDir dir;
    const std::string path = dir.path() + "/client.conf";
    write_file(path, "url = \"http://x\";\n", 0640);
    const std::optional<TrustedContent> content = read_trusted_file(path);
    ASSERT_TRUE(content.has_value());
    EXPECT_EQ(content->text, "url = \"http://x\";\n");
    EXPECT_EQ(content->mode, 0640u);
    EXPECT_FALSE(read_trusted_file(dir.path() + "/absent.conf").has_value());
}

TEST(TrustedFile, AFileOthersMayWriteIsRefused) {
    const test::TempDir dir;
    const std::string path = dir.path() + "/client.conf";
    for (const mode_t mode : {0666, 0620, 0602}) {
        write_file(path, "url = \"http://attacker\";\n", mode);
        EXPECT_NE(refusal(path).find(path + " is writable by others"), std::string::npos) << mode;
    }
}

TEST(TrustedFile, ASymbolicLinkIsRefusedNotFollowed) {
    const test::TempDir dir;
    write_file(dir.path() + "/real.conf", "url = \"http://x\";\n", 0600);
    const std::string link = dir.path() + "/client.conf";
    ASSERT_EQ(::symlink((dir.path() + "/real.conf").c_str(), link.c_str()), 0);
    EXPECT_NE(refusal(link).find("is a symbolic link"), std::string::npos);
}

TEST(TrustedFile, ADirectoryOrFifoIsRefused) {
    const test::TempDir dir;
    const std::string fifo = dir.path() + "/client.conf";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_NE(refusal(fifo).find("is not a regular file"), std::string::npos);
    EXPECT_NE(refusal(dir.path()).find("is not a regular file"), std::string::npos);
}

TEST(TrustedFile, AFileInADirectoryOthersMayWriteIsRefusedUnlessItIsSticky) {
    const test::TempDir dir;
    const std::string shared = dir.path() + "/shared";
    ASSERT_EQ(::mkdir(shared.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(shared.c_str(), 0777), 0);
    const std::string path = shared + "/client.conf";
    write_file(path, "url = \"http://x\";\n", 0600);
    EXPECT_NE(refusal(path).find("is in " + shared + ", which is writable by others"),
              std::string::npos);
    ASSERT_EQ(::chmod(shared.c_str(), 01777), 0); // /tmp-style: others cannot swap our file
    EXPECT_TRUE(read_trusted_file(path).has_value());
}

TEST(TrustedFile, AFileOrDirectoryOfAnotherUserIsRefused) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "giving a file to another user needs root";
    const test::TempDir dir;
    const std::string path = dir.path() + "/client.conf";
    write_file(path, "url = \"http://x\";\n", 0600);
    ASSERT_EQ(::chown(path.c_str(), other_user, other_user), 0);
    EXPECT_NE(refusal(path).find(path + " is owned by uid 65534"), std::string::npos);
    ASSERT_EQ(::chown(path.c_str(), 0, 0), 0);
    ASSERT_EQ(::chown(dir.path().c_str(), other_user, other_user), 0);
    EXPECT_NE(refusal(path).find("which is owned by uid 65534"), std::string::npos);
    ASSERT_EQ(::chown(dir.path().c_str(), 0, 0), 0);
}

TEST(TrustedFile, TheRulesOnStatResults) {
    struct stat info {};
    info.st_uid = ::geteuid();
    info.st_mode = S_IFREG | 0644;
    EXPECT_EQ(untrusted_file(info), "");
    info.st_mode = S_IFREG | 0664;
    EXPECT_NE(untrusted_file(info), "");
    info.st_mode = S_IFDIR | 0755;
    EXPECT_EQ(untrusted_directory(info), "");
    info.st_mode = S_IFDIR | 0775;
    EXPECT_NE(untrusted_directory(info), "");
    info.st_mode = S_IFDIR | 01777;
    EXPECT_EQ(untrusted_directory(info), "");
    info.st_mode = S_IFREG | 0700;
    EXPECT_EQ(untrusted_directory(info), "is not a directory");
}

} // namespace
} // namespace tr::cli
