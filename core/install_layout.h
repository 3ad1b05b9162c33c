// Where the installed programs find their configuration: below the install prefix's sysconfdir.
// Programs run from the build tree use the source tree's instead (config/task-runner.cfg), so a
// build works without being installed. (The console's files: cli/console_directory.h.)
#pragma once

#include <string>
#include <string_view>

namespace tr {

// The directories GNUInstallDirs gave the build (CMAKE_INSTALL_BINDIR, ..._SYSCONFDIR):
// relative to the prefix, or absolute when configured so.
struct InstallLayout {
    std::string bindir = "bin";
    std::string sysconfdir = "etc";
};

// The layout this build was configured with.
InstallLayout build_install_layout();

// The install prefix a program in `program_dir` was installed under ("/usr" for "/usr/bin"),
// or "" when `program_dir` is not a `bindir` of any prefix.
std::string install_prefix_of(std::string_view program_dir, const InstallLayout &layout);

// The sysconfdir of `prefix`, with GNUInstallDirs' rule (deploy/install.cmake installs by the
// same one): a prefix of / or /usr keeps its configuration in /etc, any other in PREFIX/etc.
std::string sysconfdir_of(const std::string &prefix, const InstallLayout &layout);

// The configuration a program in `program_dir` reads when no --config and no
// $TASK_RUNNER_CONFIG name one: `source_default` for the build's own programs
// (`build_program_dir`), SYSCONFDIR/task-runner/task-runner.cfg for installed ones.
std::string default_config_for(std::string_view program_dir, std::string_view build_program_dir,
                               const InstallLayout &layout, const std::string &source_default);

} // namespace tr
