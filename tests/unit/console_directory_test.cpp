// cli/console_directory: an installed console beside the programs wins; a build run in place
// serves the source tree's; neither is "" (nginx then answers every page with its JSON 404).
#include "cli/console_directory.h"

#include "test_support.h"

#include <gtest/gtest.h>

namespace tr::cli {
namespace {

TEST(ConsoleDirectory, AnInstalledConsoleBesideTheProgramsWins) {
    const test::TempDir prefix;
    prefix.write("share/task-runner/console/index.html", "<!doctype html>");
    EXPECT_EQ(console_directory(prefix.make_dir("bin")), prefix / "share/task-runner/console");
}

TEST(ConsoleDirectory, ABuildRunInPlaceServesTheSourceTrees) {
    const test::TempDir build;
    build.make_dir("share/task-runner/console"); // no index.html: not a console
    EXPECT_EQ(console_directory(build.make_dir("bin")), std::string(TR_SOURCE_DIR) + "/console");
}

} // namespace
} // namespace tr::cli
