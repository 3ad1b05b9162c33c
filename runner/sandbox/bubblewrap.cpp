// bubblewrap command lines. bwrap applies its options in order, each mount over what is there:
// system, then readable, then writable, then masks and read-only binds on top.
#include "runner/sandbox/bubblewrap.h"

#include "core/paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace tr::runner {
namespace {

// Only what programs need from /etc, not /etc itself: shadow, keys and the service's own
// configuration stay out of sight. /etc/passwd and /etc/group come from the runner.
constexpr const char *etc_entries[] = {
    "/etc/nsswitch.conf",  "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
    "/etc/alternatives",   "/etc/localtime",   "/etc/timezone",   "/etc/os-release",
    "/etc/debian_version", "/etc/mime.types",  "/etc/ssl",        "/etc/ca-certificates",
    "/etc/profile",        "/etc/bash.bashrc", "/etc/inputrc",    "/etc/magic",
    "/etc/python3",        "/etc/perl",
};
// Name resolution, for a command granted the network.
constexpr const char *network_entries[] = {"/etc/resolv.conf", "/etc/hosts", "/etc/host.conf",
                                           "/etc/gai.conf"};

bool is_symlink(const char *path) {
    struct stat info {};
    return ::lstat(path, &info) == 0 && S_ISLNK(info.st_mode);
}

// Whether a system entry can be bound: bwrap follows links, so a dangling one cannot.
bool resolves(const std::string &path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0;
}

// The directories bwrap made on its own root to hold the mount points. Run as root, it makes
// them 0700, and the sandbox user could reach nothing through them; they are opened to 0755
// here. Never one inside a bound path (that directory is the host's), nor /tmp (1777 already).
std::vector<std::string> directories_made_for(const std::vector<std::string> &destinations,
                                              const std::vector<std::string> &bound) {
    std::vector<std::string> made;
    for (const std::string &destination : destinations) {
        for (std::size_t slash = destination.find('/', 1); slash != std::string::npos;
             slash = destination.find('/', slash + 1)) {
            const std::string parent = destination.substr(0, slash);
            if (!is_within_any(parent, bound) && parent != "/tmp" &&
                std::find(made.begin(), made.end(), parent) == made.end())
                made.push_back(parent);
        }
    }
    std::sort(made.begin(), made.end()); // parents first
    return made;
}

void add(std::vector<std::string> &argv, std::initializer_list<std::string> items) {
    argv.insert(argv.end(), items.begin(), items.end());
}

// On merged-/usr systems (Debian 12) /bin, /lib... are symlinks into /usr; elsewhere they are
// directories and are bound as such.
void add_top_level(std::vector<std::string> &argv) {
    for (const char *top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
        if (is_symlink(top)) {
            char target[256];
            const ssize_t n = ::readlink(top, target, sizeof target - 1);
            if (n > 0)
                add(argv, {"--symlink", std::string(target, static_cast<std::size_t>(n)), top});
        } else {
            add(argv, {"--ro-bind-try", top, top});
        }
    }
}

// The entries of /etc the command sees (the runner's passwd and group among them); returns
// where they are mounted.
std::vector<std::string> add_etc(std::vector<std::string> &argv, const SandboxLayout &layout) {
    std::vector<std::string> destinations = {"/etc/passwd", "/etc/group"};
    const auto system_entry = [&](const char *entry) {
        if (!resolves(entry))
            return;
        add(argv, {"--ro-bind", entry, entry});
        destinations.emplace_back(entry);
    };
    for (const char *entry : etc_entries)
        system_entry(entry);
    if (layout.network)
        for (const char *entry : network_entries)
            system_entry(entry);
    if (layout.passwd_fd >= 0)
        add(argv, {"--ro-bind-data", std::to_string(layout.passwd_fd), "/etc/passwd"});
    if (layout.group_fd >= 0)
        add(argv, {"--ro-bind-data", std::to_string(layout.group_fd), "/etc/group"});
    return destinations;
}

// The task's paths over the system: readable, then writable, then masks and read-only binds.
void add_grants(std::vector<std::string> &argv, const SandboxLayout &layout) {
    for (const std::string &path : layout.readable)
        add(argv, {"--ro-bind", path, path});
    for (const std::string &path : layout.writable)
        add(argv, {"--bind", path, path});
    for (const std::string &path : layout.hidden_directories)
        add(argv, {"--perms", "0000", "--tmpfs", path, "--remount-ro", path});
    for (const std::string &path : layout.hidden_files)
        add(argv, {"--ro-bind", "/dev/null", path});
    for (const std::string &path : layout.read_only)
        add(argv, {"--ro-bind", path, path});
}

// Opens the directories bwrap made for the mount points (see directories_made_for).
void open_mount_points(std::vector<std::string> &argv, const SandboxLayout &layout,
                       std::vector<std::string> destinations) {
    std::vector<std::string> bound = layout.readable;
    bound.insert(bound.end(), layout.writable.begin(), layout.writable.end());
    destinations.insert(destinations.end(), bound.begin(), bound.end());
    destinations.insert(destinations.end(), layout.hidden_files.begin(), layout.hidden_files.end());
    for (const std::string &directory : directories_made_for(destinations, bound))
        add(argv, {"--chmod", "0755", directory});
}

void add_descriptors(std::vector<std::string> &argv, const SandboxLayout &layout) {
    if (layout.seccomp_fd >= 0)
        add(argv, {"--seccomp", std::to_string(layout.seccomp_fd)});
    if (layout.block_fd >= 0)
        add(argv, {"--block-fd", std::to_string(layout.block_fd)});
    if (layout.info_fd >= 0)
        add(argv, {"--info-fd", std::to_string(layout.info_fd)});
}

void add_command(std::vector<std::string> &argv, const SandboxLayout &layout,
                 const std::string &command) {
    if (!layout.drop_to) {
        // Unprivileged: bwrap's own user namespace, where it keeps no capability.
        add(argv, {"--cap-drop", "ALL", "--", "/bin/sh", "-c", command});
        return;
    }
    const std::string uid = std::to_string(layout.drop_to->uid);
    const std::string gid = std::to_string(layout.drop_to->gid);
    add(argv, {"--", setpriv_path, "--reuid=" + uid, "--regid=" + gid, "--clear-groups",
               "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--no-new-privs",
               "--", "/bin/sh", "-c", command});
}

} // namespace

std::vector<std::string> bubblewrap_command(const SandboxLayout &layout,
                                            const std::string &command) {
    // Namespaces one by one, not --unshare-all: for root that would add a user namespace in
    // which the command is root again (bwrap maps the sandbox uid to the caller's, uid 0).
    std::vector<std::string> argv = {bwrap_path,      "--unshare-ipc",        "--unshare-pid",
                                     "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent",
                                     "--new-session"};
    if (!layout.network)
        argv.emplace_back("--unshare-net");
    add(argv, {"--ro-bind", "/usr", "/usr"});
    add_top_level(argv);
    std::vector<std::string> destinations = add_etc(argv, layout);
    // A fresh procfs, whose sys, sysrq-trigger, irq and bus bwrap binds read-only; /sys read-only.
    add(argv, {"--proc", "/proc", "--dev", "/dev", "--ro-bind", "/sys", "/sys"});
    add(argv, {"--size", std::to_string(layout.tmp_bytes), "--perms", "1777", "--tmpfs", "/tmp"});
    destinations.emplace_back("/tmp");
    add_grants(argv, layout);
    open_mount_points(argv, layout, std::move(destinations));
    // bwrap builds the sandbox on a fresh tmpfs root, writable unless remounted: without this,
    // commands could write to /, /etc and any directory created for a bind mount. Last, so
    // every mount point above exists first; /tmp, /dev and the writable paths are mounts of
    // their own and stay writable.
    add(argv, {"--remount-ro", "/", "--chdir", layout.working_directory, "--clearenv"});
    for (const auto &[name, value] : layout.environment)
        add(argv, {"--setenv", name, value});
    add_descriptors(argv, layout);
    add_command(argv, layout, command);
    return argv;
}

} // namespace tr::runner
