// The installed layout's rules (see install_layout.h and deploy/install.cmake).
#include "core/install_layout.h"

#include "core/paths.h"

namespace tr {
namespace {

std::string below(const std::string &prefix, const std::string &directory) {
    if (!directory.empty() && directory.front() == '/')
        return directory; // configured absolute: the same for every prefix
    return join_path(prefix.empty() ? "/" : prefix, directory);
}

} // namespace

InstallLayout build_install_layout() {
    InstallLayout layout;
#ifdef TR_INSTALL_BINDIR
    layout.bindir = TR_INSTALL_BINDIR;
    layout.sysconfdir = TR_INSTALL_SYSCONFDIR;
#endif
    return layout;
}

std::string install_prefix_of(std::string_view program_dir, const InstallLayout &layout) {
    const std::string directory = absolute_path(program_dir, "/");
    if (!layout.bindir.empty() && layout.bindir.front() == '/')
        return directory == absolute_path(layout.bindir, "/") ? "/" : "";
    const std::string bindir = absolute_path(layout.bindir, "/"); // "/bin"
    if (directory.size() < bindir.size() ||
        directory.compare(directory.size() - bindir.size(), bindir.size(), bindir) != 0)
        return "";
    const std::string prefix = directory.substr(0, directory.size() - bindir.size());
    return prefix.empty() ? "/" : prefix;
}

std::string sysconfdir_of(const std::string &prefix, const InstallLayout &layout) {
    // GNUInstallDirs: "etc" below / or /usr is /etc, not /usr/etc (the FHS).
    if (layout.sysconfdir == "etc" && (prefix == "/" || prefix == "/usr"))
        return "/etc";
    return below(prefix, layout.sysconfdir);
}

std::string default_config_for(std::string_view program_dir, std::string_view build_program_dir,
                               const InstallLayout &layout, const std::string &source_default) {
    if (absolute_path(program_dir, "/") == absolute_path(build_program_dir, "/"))
        return source_default;
    const std::string prefix = install_prefix_of(program_dir, layout);
    if (prefix.empty()) // copied somewhere that is no prefix's bindir: the build's file
        return source_default;
    return join_path(sysconfdir_of(prefix, layout), "task-runner/task-runner.cfg");
}

} // namespace tr
