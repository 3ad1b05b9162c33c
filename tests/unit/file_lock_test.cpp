// cli/file_lock: submit's run lock. A second holder is refused while the first lives (flock
// locks belong to the open file, so a second open in the same process is refused too, as a
// second process would be), and the lock goes with its holder.
#include "cli/file_lock.h"
#include "cli/submit_command.h"

#include "test_support.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tr::cli {
namespace {

TEST(FileLock, ASecondRunIsRefusedUntilTheFirstEnds) {
    const test::TempDir dir;
    const std::string path = dir.path() + "/run.lock";
    {
        const std::optional<FileLock> first = FileLock::try_take(path);
        ASSERT_TRUE(first.has_value());
        EXPECT_FALSE(FileLock::try_take(path).has_value());
        EXPECT_EQ(lock_holder(path), "pid " + std::to_string(::getpid()));
        const pid_t child = ::fork();
        if (child == 0)
            ::_exit(FileLock::try_take(path).has_value() ? 1 : 0);
        int status = 0;
        ::waitpid(child, &status, 0);
        EXPECT_EQ(WEXITSTATUS(status), 0) << "another process took a held lock";
    }
    EXPECT_TRUE(FileLock::try_take(path).has_value());
    struct stat info {};
    ASSERT_EQ(::stat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
}

std::string content_of(const std::string &path) {
    std::ifstream file(path);
    std::ostringstream all;
    all << file.rdbuf();
    return all.str();
}

// `--lock tasks.txt` (the `flock -n "$0"` habit) or any file the user has: locked, not wiped.
TEST(FileLock, AnExistingFileKeepsItsContent) {
    const test::TempDir dir;
    const std::string path = dir.path() + "/tasks.txt";
    std::ofstream(path) << "list the files in .\nsummarise README.md\n";
    {
        const std::optional<FileLock> first = FileLock::try_take(path);
        ASSERT_TRUE(first.has_value());
        EXPECT_FALSE(FileLock::try_take(path).has_value());
    }
    EXPECT_EQ(content_of(path), "list the files in .\nsummarise README.md\n");
    std::ofstream(path) << "pid 1\nmore\n"; // looks like a holder, but is more than one
    ASSERT_TRUE(FileLock::try_take(path).has_value());
    EXPECT_EQ(content_of(path), "pid 1\nmore\n");
}

TEST(FileLock, AReadOnlyExistingFileLocksAsWell) {
    const test::TempDir dir;
    const std::string path = dir.path() + "/keep.txt";
    std::ofstream(path) << "keep\n";
    ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
    EXPECT_TRUE(FileLock::try_take(path).has_value());
    EXPECT_EQ(content_of(path), "keep\n");
}

TEST(FileLock, AnEmptyFileOrAStaleHolderIsRewritten) {
    const test::TempDir dir;
    const std::string path = dir.path() + "/run.lock";
    const std::string ours = "pid " + std::to_string(::getpid());
    std::ofstream(path).flush();
    ASSERT_TRUE(FileLock::try_take(path).has_value());
    EXPECT_EQ(lock_holder(path), ours);
    std::ofstream(path) << "pid 99999999\n"; // a run that has ended
    ASSERT_TRUE(FileLock::try_take(path).has_value());
    EXPECT_EQ(content_of(path), ours + "\n");
}

TEST(FileLock, ASymbolicLinkIsNotFollowed) {
    const test::TempDir dir;
    const std::string target = dir.path() + "/precious";
    std::ofstream(target) << "precious\n";
    const std::string link = dir.path() + "/run.lock";
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    EXPECT_THROW(FileLock::try_take(link), std::exception);
    EXPECT_EQ(content_of(target), "precious\n");
}

// A 250-character tasks file name still gets a lock file the kernel accepts, one per path.
TEST(DefaultLockPath, ALongNameIsCutToFitAndStaysUnique) {
    const test::TempDir dir;
    ASSERT_EQ(::setenv("XDG_STATE_HOME", dir.path().c_str(), 1), 0);
    const std::string long_name(250, 'a');
    const std::string first = default_lock_path("/work/" + long_name);
    const std::string second = default_lock_path("/work/" + long_name + "b");
    const std::string name = first.substr(first.rfind('/') + 1);
    EXPECT_LE(name.size(), static_cast<std::size_t>(NAME_MAX));
    EXPECT_EQ(name.rfind("aaaa", 0), 0u);
    EXPECT_NE(first, second);
    ASSERT_EQ(::mkdir((dir.path() + "/task-runner").c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((dir.path() + "/task-runner/locks").c_str(), 0700), 0);
    EXPECT_TRUE(FileLock::try_take(first).has_value());
    // Not cut inside a UTF-8 character: "é" is two bytes.
    std::string accented;
    for (int i = 0; i < 125; ++i)
        accented += "\xc3\xa9";
    const std::string cut = default_lock_path("/work/" + accented);
    const std::string cut_name = cut.substr(cut.rfind('/') + 1);
    EXPECT_LE(cut_name.size(), static_cast<std::size_t>(NAME_MAX));
    EXPECT_EQ(cut_name.find('-') % 2, 0u) << cut_name;
    const std::string short_one = default_lock_path("/work/tasks.txt");
    EXPECT_EQ(short_one.rfind(dir.path() + "/task-runner/locks/tasks.txt-", 0), 0u) << short_one;
    EXPECT_EQ(short_one.size(), (dir.path() + "/task-runner/locks/tasks.txt-").size() + 17);
    ::unsetenv("XDG_STATE_HOME");
}

TEST(FileLock, AnUnopenableLockFileIsAnErrorNamingIt) {
    try {
        FileLock::try_take("/nonexistent-directory/run.lock");
        FAIL() << "no error";
    } catch (const std::exception &e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent-directory/run.lock"), std::string::npos);
    }
}

} // namespace
} // namespace tr::cli
