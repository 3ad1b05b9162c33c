// core/paths: lexical normalisation for configured paths, whole-component containment, and
// resolve_path, the rule every file a task names goes through: symlinks and ".." are followed
// where they really lead before the result is compared with the allowed roots.
#include "core/paths.h"

#include "core/error.h"
#include "test_support.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace tr {
namespace {

using test::contains;
using test::TempDir;

// root/            the allowed directory
//   a.txt
//   sub/inner/b.txt
//   in_link  -> root/sub            (inside)
//   jump     -> root/sub/inner      (inside; "jump/.." is root/sub, not root)
//   out_link -> outside/            (outside)
//   etc_link -> /etc
//   passwd   -> /etc/passwd
//   broken   -> root/nothing
//   loop     -> loop
// outside/secret.txt
class ResolvePath : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = dir_.make_dir("root");
        outside_ = dir_.make_dir("outside");
        dir_.write("root/a.txt", "a");
        dir_.write("root/sub/inner/b.txt", "b");
        dir_.write("outside/secret.txt", "secret");
        link(root_ + "/sub", "in_link");
        link(root_ + "/sub/inner", "jump");
        link(outside_, "out_link");
        link("/etc", "etc_link");
        link("/etc/passwd", "passwd");
        link(root_ + "/nothing", "broken");
        link("loop", "loop");
    }

    void link(const std::string &target, const std::string &name) const {
        std::filesystem::create_symlink(target, root_ + "/" + name);
    }

    std::string resolve(std::string_view requested, MustExist must_exist = MustExist::Yes) const {
        return resolve_path(requested, root_, {root_}, must_exist);
    }

    // The message of the refusal, naming the requested path.
    std::string refusal(std::string_view requested, MustExist must_exist = MustExist::Yes) const {
        try {
            const std::string resolved = resolve(requested, must_exist);
            ADD_FAILURE() << "accepted " << requested << " as " << resolved;
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
            return e.what();
        }
        return "";
    }

    TempDir dir_;
    std::string root_;
    std::string outside_;
};

TEST(AbsolutePath, JoinsARelativePathOntoTheBase) {
    EXPECT_EQ(absolute_path("a/b", "/base"), "/base/a/b");
    EXPECT_EQ(absolute_path("", "/base"), "/base");
    EXPECT_EQ(absolute_path(".", "/base"), "/base");
}

TEST(AbsolutePath, KeepsAnAbsolutePath) {
    EXPECT_EQ(absolute_path("/x/y", "/base"), "/x/y");
}

TEST(AbsolutePath, RemovesDotsAndRepeatedSlashes) {
    EXPECT_EQ(absolute_path("/x/./y//z/", "/base"), "/x/y/z");
    EXPECT_EQ(absolute_path("a/../../b", "/base/c"), "/base/b");
    EXPECT_EQ(absolute_path("a/b/..", "/base"), "/base/a");
}

TEST(AbsolutePath, NeverClimbsAboveTheRoot) {
    EXPECT_EQ(absolute_path("../../..", "/a"), "/");
    EXPECT_EQ(absolute_path("/..", "/base"), "/");
    EXPECT_EQ(absolute_path("../x", "/"), "/x");
}

TEST(ParentDirectory, DropsTheLastComponent) {
    EXPECT_EQ(parent_directory("/a/b/c"), "/a/b");
    EXPECT_EQ(parent_directory("/a/b/"), "/a");
    EXPECT_EQ(parent_directory("/a"), "/");
    EXPECT_EQ(parent_directory("/"), "/");
}

TEST(JoinPath, PutsOneSlashBetween) {
    EXPECT_EQ(join_path("/a/b", "c"), "/a/b/c");
    EXPECT_EQ(join_path("relative", "c.txt"), "relative/c.txt");
}

TEST(JoinPath, AddsNoSecondSlashAfterTheRoot) {
    EXPECT_EQ(join_path("/", "etc"), "/etc");
    EXPECT_EQ(join_path("/a/", "b"), "/a/b");
}

TEST(CurrentDirectory, IsTheProcessWorkingDirectory) {
    EXPECT_EQ(current_directory(), std::filesystem::current_path().string());
}

TEST(RealDirectory, ResolvesAnExistingDirectory) {
    TempDir dir;
    dir.make_dir("d/e");
    std::filesystem::create_symlink(dir / "d", dir / "link");
    EXPECT_EQ(real_directory(dir / "d/e/.."), dir / "d");
    EXPECT_EQ(real_directory(dir / "link"), dir / "d");
}

TEST(RealDirectory, IsNulloptForAFileOrAMissingPath) {
    TempDir dir;
    dir.write("f.txt", "x");
    EXPECT_EQ(real_directory(dir / "f.txt"), std::nullopt);
    EXPECT_EQ(real_directory(dir / "missing"), std::nullopt);
    EXPECT_EQ(real_directory(""), std::nullopt);
}

TEST(IsWithin, AcceptsTheRootItselfAndPathsBelowIt) {
    EXPECT_TRUE(is_within("/a/b", "/a/b"));
    EXPECT_TRUE(is_within("/a/b/c", "/a/b"));
    EXPECT_TRUE(is_within("/a/b/c/d", "/a/b"));
}

TEST(IsWithin, ComparesWholeComponents) {
    EXPECT_FALSE(is_within("/a/bc", "/a/b"));
    EXPECT_FALSE(is_within("/a/b-c/d", "/a/b"));
    EXPECT_FALSE(is_within("/a", "/a/b"));
    EXPECT_FALSE(is_within("/x/b", "/a/b"));
    EXPECT_FALSE(is_within("", "/a"));
}

TEST(IsWithin, TheFileSystemRootContainsEveryAbsolutePath) {
    EXPECT_TRUE(is_within("/", "/"));
    EXPECT_TRUE(is_within("/etc/passwd", "/"));
    EXPECT_FALSE(is_within("relative", "/"));
}

TEST(IsWithinAny, AcceptsAPathInsideAnyRoot) {
    const std::vector<std::string> roots = {"/srv/a", "/srv/b"};
    EXPECT_TRUE(is_within_any("/srv/b/x", roots));
    EXPECT_FALSE(is_within_any("/srv/c/x", roots));
    EXPECT_FALSE(is_within_any("/srv/ab", roots));
    EXPECT_FALSE(is_within_any("/srv/a", {}));
}

TEST(ResolveRoots, ResolvesExistingDirectoriesAndSkipsTheRest) {
    TempDir dir;
    dir.make_dir("a");
    dir.write("file", "x");
    std::filesystem::create_symlink(dir / "a", dir / "link");
    EXPECT_EQ(resolve_roots({dir / "a", dir / "missing", dir / "file", dir / "link"}),
              (std::vector<std::string>{dir / "a", dir / "a"}));
}

TEST_F(ResolvePath, ResolvesARelativePathAgainstTheBase) {
    EXPECT_EQ(resolve("a.txt"), root_ + "/a.txt");
    EXPECT_EQ(resolve("./sub//inner/b.txt"), root_ + "/sub/inner/b.txt");
    EXPECT_EQ(resolve("."), root_);
}

TEST_F(ResolvePath, FollowsDotDotThatStaysInside) {
    EXPECT_EQ(resolve("sub/inner/../../a.txt"), root_ + "/a.txt");
}

TEST_F(ResolvePath, AcceptsAnAbsolutePathInside) {
    EXPECT_EQ(resolve(root_ + "/sub/inner/b.txt"), root_ + "/sub/inner/b.txt");
}

TEST_F(ResolvePath, RefusesADotDotEscape) {
    const std::string message = refusal("../outside/secret.txt");
    EXPECT_EQ(message, "path \"../outside/secret.txt\" is outside the allowed paths");
    EXPECT_TRUE(contains(refusal("sub/../../outside"), "is outside the allowed paths"));
    EXPECT_TRUE(contains(refusal(".."), "is outside the allowed paths"));
}

TEST_F(ResolvePath, RefusesAnAbsolutePathOutside) {
    EXPECT_EQ(refusal("/etc/passwd"), "path \"/etc/passwd\" is outside the allowed paths");
    EXPECT_TRUE(contains(refusal(outside_ + "/secret.txt"), "is outside the allowed paths"));
    EXPECT_TRUE(contains(refusal("/"), "is outside the allowed paths"));
}

TEST_F(ResolvePath, RefusesAPathThatOnlySharesAPrefixWithTheRoot) {
    dir_.make_dir("rootkit");
    EXPECT_TRUE(contains(refusal(root_ + "kit"), "is outside the allowed paths"));
    EXPECT_TRUE(contains(refusal("../rootkit"), "is outside the allowed paths"));
}

TEST_F(ResolvePath, RefusesASymlinkPointingOutside) {
    EXPECT_TRUE(contains(refusal("out_link/secret.txt"), "is outside the allowed paths"));
    EXPECT_TRUE(contains(refusal("out_link"), "is outside the allowed paths"));
    EXPECT_TRUE(contains(refusal("passwd"), "is outside the allowed paths"));
    EXPECT_TRUE(contains(refusal("etc_link/passwd"), "is outside the allowed paths"));
}

TEST_F(ResolvePath, RefusesASymlinkPointingOutsideEvenForANewFile) {
    EXPECT_TRUE(
        contains(refusal("out_link/new.txt", MustExist::No), "is outside the allowed paths"));
    EXPECT_TRUE(
        contains(refusal("etc_link/cron.d/evil", MustExist::No), "is outside the allowed paths"));
}

TEST_F(ResolvePath, AcceptsASymlinkPointingInsideAndResolvesIt) {
    EXPECT_EQ(resolve("in_link"), root_ + "/sub");
    EXPECT_EQ(resolve("in_link/inner/b.txt"), root_ + "/sub/inner/b.txt");
}

TEST_F(ResolvePath, FollowsDotDotFromWhereASymlinkReallyPoints) {
    // The kernel resolves "jump/.." as root/sub/inner/.., which is root/sub; a lexical
    // normaliser would say root.
    EXPECT_EQ(resolve("jump/.."), root_ + "/sub");
    EXPECT_EQ(resolve("jump/../inner/b.txt"), root_ + "/sub/inner/b.txt");
}

TEST_F(ResolvePath, AllowsAMissingTailWhenItNeedNotExist) {
    EXPECT_EQ(resolve("new.txt", MustExist::No), root_ + "/new.txt");
    EXPECT_EQ(resolve("new/dir/file.txt", MustExist::No), root_ + "/new/dir/file.txt");
    EXPECT_EQ(resolve("in_link/new.txt", MustExist::No), root_ + "/sub/new.txt");
}

TEST_F(ResolvePath, RefusesAMissingPathWhenItMustExist) {
    EXPECT_EQ(refusal("new.txt"), "path \"new.txt\" does not exist");
    EXPECT_EQ(refusal("sub/missing/b.txt"), "path \"sub/missing/b.txt\" does not exist");
}

TEST_F(ResolvePath, RefusesAMissingTailOutsideEvenWhenItNeedNotExist) {
    EXPECT_TRUE(
        contains(refusal("../outside/new.txt", MustExist::No), "is outside the allowed paths"));
    EXPECT_TRUE(contains(refusal("new/../../x", MustExist::No), "is outside the allowed paths"));
}

// Regression: once a component was missing, later components were appended without looking
// at them, even after ".." had climbed back out of the missing part. "new/../out_link/x" came
// back as root/out_link/x, inside the root on paper, while out_link leads outside.
TEST_F(ResolvePath, LooksAtComponentsAgainAfterDotDotLeavesAMissingDirectory) {
    EXPECT_TRUE(
        contains(refusal("new/../out_link/x.txt", MustExist::No), "is outside the allowed paths"));
    EXPECT_TRUE(contains(refusal("a/b/../../etc_link/passwd", MustExist::No),
                         "is outside the allowed paths"));
    EXPECT_EQ(resolve("new/../in_link/x.txt", MustExist::No), root_ + "/sub/x.txt");
    EXPECT_EQ(refusal("new/more/../b.txt"), "path \"new/more/../b.txt\" does not exist");
}

TEST_F(ResolvePath, RefusesABrokenSymlink) {
    EXPECT_EQ(refusal("broken"), "path \"broken\" goes through a broken symbolic link");
    EXPECT_EQ(refusal("broken", MustExist::No),
              "path \"broken\" goes through a broken symbolic link");
    EXPECT_TRUE(contains(refusal("broken/x", MustExist::No), "broken symbolic link"));
}

TEST_F(ResolvePath, RefusesASymlinkLoop) {
    EXPECT_TRUE(contains(refusal("loop", MustExist::No), "broken symbolic link"));
}

TEST_F(ResolvePath, RefusesAnEmptyPath) {
    EXPECT_EQ(refusal(""), "path must not be empty");
    EXPECT_EQ(refusal("", MustExist::No), "path must not be empty");
}

TEST_F(ResolvePath, RefusesAPathWithANulByte) {
    EXPECT_EQ(refusal(std::string_view("a.txt\0/../../etc", 16), MustExist::No),
              "path must not contain NUL bytes");
}

TEST_F(ResolvePath, RefusesARelativePathWhenTheBaseDoesNotExist) {
    try {
        resolve_path("a.txt", root_ + "/missing", {root_}, MustExist::No);
        FAIL() << "accepted a path relative to a missing base";
    } catch (const Error &e) {
        EXPECT_EQ(std::string(e.what()), "base directory of \"a.txt\" does not exist");
    }
}

TEST_F(ResolvePath, RefusesEverythingWhenThereAreNoRoots) {
    EXPECT_THROW(resolve_path("a.txt", root_, {}, MustExist::Yes), Error);
}

TEST_F(ResolvePath, AcceptsAPathInsideAnyOfSeveralRoots) {
    EXPECT_EQ(resolve_path("../outside/secret.txt", root_, {root_, outside_}, MustExist::Yes),
              outside_ + "/secret.txt");
    EXPECT_EQ(resolve_path("out_link/secret.txt", root_, {root_, outside_}, MustExist::Yes),
              outside_ + "/secret.txt");
}

} // namespace
} // namespace tr
