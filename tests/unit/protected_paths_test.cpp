// core/protected_paths: what no task may touch, whatever the configuration grants.
#include "core/protected_paths.h"

#include "core/unique_fd.h"
#include "test_support.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

namespace tr {
namespace {

using test::contains;
using test::TempDir;

class ProtectedPathsTest : public ::testing::Test {
protected:
    ProtectedPathsTest() {
        dir_.make_dir("work");
        dir_.make_dir("run");
        dir_.make_dir("bin");
        dir_.write("data/task-runner.db", "SQLite format 3");
        dir_.write("config/other.cfg", "");
        dir_.write("config/notes.txt", "");
        config_ =
            test::write_and_load_config(dir_,
                                        "tools = { working_directory = \"..\"; allowed_paths = "
                                        "[\"..\"]; sandbox = \"none\"; };\n"
                                        "storage = { database = \"../data/task-runner.db\"; };\n",
                                        test::environment_of(), "config/task-runner.cfg");
        paths_ = protected_paths(config_, dir_ / "run", dir_ / "bin");
    }

    bool listed(const std::string &file) const {
        return std::find(paths_.secret_files.begin(), paths_.secret_files.end(), file) !=
               paths_.secret_files.end();
    }

    TempDir dir_;
    Config config_;
    ProtectedPaths paths_;
};

TEST_F(ProtectedPathsTest, TheDatabaseWithItsCompanionsAndEveryConfigFileAreSecret) {
    for (const char *suffix : {"", "-wal", "-shm", "-journal"})
        EXPECT_TRUE(listed(dir_ / "data/task-runner.db" + suffix)) << suffix;
    EXPECT_TRUE(listed(dir_ / "config/task-runner.cfg"));
    EXPECT_TRUE(listed(dir_ / "config/other.cfg")); // the other shipped configuration too
    EXPECT_FALSE(listed(dir_ / "config/notes.txt"));
    EXPECT_TRUE(paths_.is_secret(dir_ / "data/task-runner.db-wal"));
    EXPECT_TRUE(paths_.is_secret(dir_ / "run"));
    EXPECT_TRUE(paths_.is_secret(dir_ / "run/fcgi.sock"));
    // The runners' wake-up sockets (core/wake_channel.h), made or not yet.
    EXPECT_TRUE(paths_.is_secret(dir_ / "data/task-runner.db-wake"));
    EXPECT_TRUE(paths_.is_secret(dir_ / "data/task-runner.db-wake/runner-1.sock"));
    EXPECT_FALSE(paths_.is_secret(dir_ / "data/task-runner.db.txt"));
    EXPECT_FALSE(paths_.is_secret(dir_ / "runner"));
    EXPECT_FALSE(paths_.is_secret(dir_ / "work/notes.txt"));
}

TEST_F(ProtectedPathsTest, ProgramsAndGitAreReadOnly) {
    EXPECT_TRUE(paths_.is_read_only(dir_ / "bin/task-runner-runner"));
    EXPECT_FALSE(paths_.is_secret(dir_ / "bin/task-runner-runner"));
    EXPECT_TRUE(paths_.is_read_only(dir_ / "work/.git"));
    EXPECT_TRUE(paths_.is_read_only(dir_ / "work/repo/.git/hooks/pre-commit"));
    EXPECT_TRUE(paths_.is_read_only(dir_ / "data/task-runner.db")); // secret is read-only too
    EXPECT_FALSE(paths_.is_read_only(dir_ / "work/.github/x"));
    EXPECT_FALSE(paths_.is_read_only(dir_ / "work/x.git"));
    EXPECT_FALSE(paths_.is_read_only(dir_ / "work/notes.txt"));
}

TEST_F(ProtectedPathsTest, AHardLinkToASecretFileIsKnownByItsInode) {
    const std::string link = dir_ / "work/innocent.txt";
    ASSERT_EQ(::link((dir_ / "data/task-runner.db").c_str(), link.c_str()), 0);
    const UniqueFd linked(::open(link.c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_TRUE(paths_.is_secret_file(linked.get()));
    const UniqueFd other(::open(dir_.write("work/other.txt", "x").c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_FALSE(paths_.is_secret_file(other.get()));
}

TEST_F(ProtectedPathsTest, TheStartUpWarningsNameEachProtectedPathInsideTheGrants) {
    dir_.make_dir(".git");
    const std::vector<std::string> warnings = protected_paths_in_grants(paths_, config_);
    const auto warned = [&](const std::string &text) {
        return std::find(warnings.begin(), warnings.end(), text) != warnings.end();
    };
    EXPECT_TRUE(warned(dir_ / "data/task-runner.db (hidden from tasks)"));
    EXPECT_TRUE(warned(dir_ / "config/task-runner.cfg (hidden from tasks)"));
    EXPECT_TRUE(warned(dir_ / "run (hidden from tasks)"));
    EXPECT_TRUE(warned(dir_ / "bin (read-only for tasks)"));
    EXPECT_TRUE(warned(dir_ / ".git (read-only for tasks)"));
    // Those that do not exist (no -wal yet) are not named.
    EXPECT_FALSE(warned(dir_ / "data/task-runner.db-wal (hidden from tasks)"));
}

TEST(ProtectedPaths, NoneInsideGrantsThatDoNotReachThem) {
    TempDir dir;
    dir.make_dir("work");
    const Config config = test::load_minimal_config(dir);
    const ProtectedPaths paths = protected_paths(config, "", "");
    EXPECT_TRUE(protected_paths_in_grants(paths, config).empty());
}

TEST(HasGitComponent, MatchesWholeComponentsOnly) {
    EXPECT_TRUE(has_git_component("/a/.git"));
    EXPECT_TRUE(has_git_component("/a/.git/b"));
    EXPECT_TRUE(has_git_component(".git"));
    EXPECT_FALSE(has_git_component("/a/.gitignore"));
    EXPECT_FALSE(has_git_component("/a/b.git/c"));
    EXPECT_FALSE(has_git_component("/"));
}

} // namespace
} // namespace tr
