// Where installed programs look for their configuration (core/install_layout.h).
#include "core/install_layout.h"

#include <gtest/gtest.h>

namespace {

const tr::InstallLayout gnu; // bin, etc
const std::string source = "/src/config/task-runner.cfg";

TEST(InstallLayout, TheBuildsOwnProgramsReadTheSourceTreesConfig) {
    EXPECT_EQ(tr::default_config_for("/src/build/bin", "/src/build/bin", gnu, source), source);
}

TEST(InstallLayout, AProgramUnderUsrReadsEtc) {
    EXPECT_EQ(tr::default_config_for("/usr/bin", "/src/build/bin", gnu, source),
              "/etc/task-runner/task-runner.cfg");
    EXPECT_EQ(tr::default_config_for("/bin", "/src/build/bin", gnu, source),
              "/etc/task-runner/task-runner.cfg");
}

TEST(InstallLayout, AnyOtherPrefixKeepsItsConfigurationBelowItself) {
    EXPECT_EQ(tr::default_config_for("/usr/local/bin", "/src/build/bin", gnu, source),
              "/usr/local/etc/task-runner/task-runner.cfg");
    EXPECT_EQ(tr::default_config_for("/tmp/x/bin/", "/src/build/bin", gnu, source),
              "/tmp/x/etc/task-runner/task-runner.cfg");
}

TEST(InstallLayout, AnAbsoluteSysconfdirIsTheSameForEveryPrefix) {
    tr::InstallLayout layout;
    layout.sysconfdir = "/etc/opt";
    EXPECT_EQ(tr::default_config_for("/opt/tr/bin", "/src/build/bin", layout, source),
              "/etc/opt/task-runner/task-runner.cfg");
}

// A copy of a program somewhere that is no prefix's bin directory has no installed layout.
TEST(InstallLayout, AProgramOutsideAnyBindirReadsTheBuildsConfig) {
    EXPECT_EQ(tr::install_prefix_of("/home/me/tools", gnu), "");
    EXPECT_EQ(tr::default_config_for("/home/me/tools", "/src/build/bin", gnu, source), source);
    // "sbin" ends in "bin" but is not the bindir "bin".
    EXPECT_EQ(tr::install_prefix_of("/usr/sbin", gnu), "");
}

} // namespace
