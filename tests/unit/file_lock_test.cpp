// cli/file_lock: submit's run lock. A second holder is refused while the first lives (flock
// locks belong to the open file, so a second open in the same process is refused too, as a
// second process would be), and the lock goes with its holder.
#include "cli/file_lock.h"

#include "test_support.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
