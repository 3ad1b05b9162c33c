// Finding the cgroup hierarchies in /proc/self/mountinfo, the runner's place in them in
// /proc/self/cgroup, and the files that set limits, join, report and kill.
#include "runner/sandbox/cgroup.h"

#include "core/error.h"
#include "core/paths.h"
#include "core/random.h"
#include "core/strings.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

namespace tr::runner {
namespace {

using namespace std::chrono_literals;

const char *const wanted_controllers[] = {"pids", "memory", "cpu"};
constexpr const char *group_prefix = "task-runner.";

std::string read_file(const std::string &path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Writes a control file; false with errno set when the kernel refuses.
bool write_file(const std::string &path, const std::string &value) {
    const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid())
        return false;
    return ::write(fd.get(), value.data(), value.size()) == static_cast<ssize_t>(value.size());
}

void write_or_throw(const std::string &path, const std::string &value) {
    if (!write_file(path, value))
        throw Error(ErrorCode::InternalError,
                    system_error_text("write " + value + " to " + path, errno));
}

std::vector<std::string> words(const std::string &text, char separator) {
    std::vector<std::string> out;
    std::stringstream stream(text);
    std::string word;
    while (std::getline(stream, word, separator))
        if (!word.empty())
            out.push_back(word);
    return out;
}

bool contains(const std::vector<std::string> &list, const std::string &item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

// "oom_kill 3" in a file of "key value" lines: the value, or 0.
long long counter(const std::string &path, const std::string &key) {
    std::stringstream lines(read_file(path));
    std::string name;
    long long value = 0;
    while (lines >> name >> value)
        if (name == key)
            return value;
    return 0;
}

std::vector<pid_t> members(const std::string &directory) {
    std::vector<pid_t> pids;
    std::stringstream lines(read_file(directory + "/cgroup.procs"));
    pid_t pid;
    while (lines >> pid)
        pids.push_back(pid);
    return pids;
}

struct Mount {
    std::string point;
    std::string root; // the part of the hierarchy mounted there
    bool v2 = false;
    std::vector<std::string> controllers; // v1: from the super options; v2: cgroup.controllers
};

std::vector<Mount> cgroup_mounts() {
    std::vector<Mount> mounts;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        const std::size_t dash = line.find(" - ");
        if (dash == std::string::npos)
            continue;
        const std::vector<std::string> before = words(line.substr(0, dash), ' ');
        const std::vector<std::string> after = words(line.substr(dash + 3), ' ');
        if (before.size() < 5 || after.size() < 3)
            continue;
        Mount mount{before[4], before[3], after[0] == "cgroup2", {}};
        if (after[0] == "cgroup2")
            mount.controllers = words(read_file(mount.point + "/cgroup.controllers"), ' ');
        else if (after[0] == "cgroup")
            mount.controllers = words(after[2], ',');
        else
            continue;
        for (std::string &controller : mount.controllers)
            while (!controller.empty() && controller.back() == '\n')
                controller.pop_back();
        mounts.push_back(std::move(mount));
    }
    return mounts;
}

// The runner's own group in a hierarchy: "4:memory:/x" lines, "0::/x" for v2.
std::string own_path(const Mount &mount) {
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line)) {
        const std::size_t first = line.find(':');
        const std::size_t second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos)
            continue;
        const std::vector<std::string> names =
            words(line.substr(first + 1, second - first - 1), ',');
        const bool matches =
            mount.v2 ? names.empty()
                     : std::any_of(names.begin(), names.end(), [&](const std::string &n) {
                           return contains(mount.controllers, n);
                       });
        if (!matches)
            continue;
        std::string path = line.substr(second + 1);
        if (mount.root != "/" && path.compare(0, mount.root.size(), mount.root) == 0)
            path = path.substr(mount.root.size());
        return path == "/" ? "" : path;
    }
    return "";
}

bool process_alive(pid_t pid) {
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

// Removes a group and the groups below it, killing what is still inside.
void remove_tree(const std::string &directory) {
    std::unique_ptr<DIR, int (*)(DIR *)> dir(::opendir(directory.c_str()), ::closedir);
    if (dir)
        while (const dirent *entry = ::readdir(dir.get()))
            if (entry->d_type == DT_DIR && entry->d_name[0] != '.')
                remove_tree(join_path(directory, entry->d_name));
    for (int attempt = 0; attempt < 100; ++attempt) {
        if (::rmdir(directory.c_str()) == 0 || errno == ENOENT)
            return;
        for (const pid_t pid : members(directory))
            ::kill(pid, SIGKILL);
        std::this_thread::sleep_for(10ms);
    }
}

// The groups of runners that died (task-runner.<pid>.<random> whose pid is gone).
void remove_stale_groups(const std::string &parent) {
    std::unique_ptr<DIR, int (*)(DIR *)> dir(::opendir(parent.c_str()), ::closedir);
    if (!dir)
        return;
    std::vector<std::string> stale;
    while (const dirent *entry = ::readdir(dir.get())) {
        const std::string name = entry->d_name;
        if (name.rfind(group_prefix, 0) != 0)
            continue;
        const pid_t pid =
            static_cast<pid_t>(std::atol(name.c_str() + std::string(group_prefix).size()));
        if (pid > 0 && !process_alive(pid))
            stale.push_back(join_path(parent, name));
    }
    for (const std::string &path : stale)
        remove_tree(path);
}

} // namespace

bool enable_controller_for_children(const std::string &group, const std::string &controller) {
    const std::string control = group + "/cgroup.subtree_control";
    const std::string enable = "+" + controller;
    if (write_file(control, enable))
        return true;
    if (errno != EBUSY)
        return false;
    if (members(group) != std::vector<pid_t>{::getpid()}) {
        errno = EBUSY;
        return false;
    }
    const std::string leaf = group + "/runner";
    if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST)
        return false;
    return write_file(leaf + "/cgroup.procs", std::to_string(::getpid())) &&
           write_file(control, enable);
}

TaskCgroup &TaskCgroup::operator=(TaskCgroup &&other) noexcept {
    if (this != &other) {
        remove();
        directories_ = std::move(other.directories_);
        procs_ = std::move(other.procs_);
    }
    return *this;
}

TaskCgroup::~TaskCgroup() {
    remove();
}

std::vector<int> TaskCgroup::join_fds() const {
    std::vector<int> fds;
    for (const UniqueFd &fd : procs_)
        fds.push_back(fd.get());
    return fds;
}

CgroupKillPaths TaskCgroup::kill_paths() const {
    CgroupKillPaths paths;
    if (directories_.empty())
        return paths;
    paths.watched_directory = directories_.front().path;
    for (const Directory &directory : directories_)
        if (directory.v2)
            paths.v2_directory = directory.path;
    return paths;
}

void kill_cgroup_members(const CgroupKillPaths &paths) noexcept {
    if (paths.watched_directory.empty())
        return;
    try {
        // cgroup.kill (Linux 5.14) kills every member at once, forks in flight included.
        const bool killed =
            !paths.v2_directory.empty() && write_file(paths.v2_directory + "/cgroup.kill", "1");
        const auto deadline = std::chrono::steady_clock::now() + 2s;
        while (std::chrono::steady_clock::now() < deadline) {
            const std::vector<pid_t> pids = members(paths.watched_directory);
            if (pids.empty())
                return;
            // Without cgroup.kill, one round at a time: the pids limit bounds how many a fork
            // bomb can make between two rounds, and the killed ones fork no more.
            if (!killed)
                for (const pid_t pid : pids)
                    ::kill(pid, SIGKILL);
            std::this_thread::sleep_for(5ms);
        }
    } catch (...) {
        // Reading the group failed (it is gone, say); its owner's removal tries once more.
    }
}

bool TaskCgroup::hit_process_limit() const {
    for (const Directory &directory : directories_)
        if (counter(directory.path + "/pids.events", "max") > 0)
            return true;
    return false;
}

bool TaskCgroup::hit_memory_limit() const {
    for (const Directory &directory : directories_)
        if (counter(directory.path + (directory.v2 ? "/memory.events" : "/memory.oom_control"),
                    "oom_kill") > 0)
            return true;
    return false;
}

void TaskCgroup::remove() noexcept {
    if (directories_.empty())
        return;
    kill_all();
    procs_.clear();
    for (const Directory &directory : directories_)
        remove_tree(directory.path);
    directories_.clear();
}

bool Cgroups::has(const std::string &controller) const {
    return std::any_of(hierarchies_.begin(), hierarchies_.end(),
                       [&](const Hierarchy &h) { return contains(h.controllers, controller); });
}

bool Cgroups::add_v2(const std::string &parent, const std::vector<std::string> &offered,
                     const std::string &tag, std::vector<std::string> &problems) {
    remove_stale_groups(parent);
    Hierarchy hierarchy{join_path(parent, tag), true, {}};
    if (::mkdir(hierarchy.base.c_str(), 0755) != 0) {
        problems.push_back(system_error_text("mkdir " + hierarchy.base, errno));
        return false;
    }
    for (const char *controller : wanted_controllers) {
        if (!contains(offered, controller))
            continue;
        const std::string enable = std::string("+") + controller;
        if (enable_controller_for_children(parent, controller) &&
            write_file(hierarchy.base + "/cgroup.subtree_control", enable))
            hierarchy.controllers.emplace_back(controller);
        else
            problems.push_back(
                system_error_text(std::string("enable ") + controller + " below " + parent, errno));
    }
    hierarchies_.push_back(std::move(hierarchy));
    return true;
}

void Cgroups::add_v1(const char *controller, const std::string &parent, const std::string &tag,
                     std::vector<std::string> &problems) {
    const std::string base = join_path(parent, tag);
    const auto existing = std::find_if(hierarchies_.begin(), hierarchies_.end(),
                                       [&](const Hierarchy &h) { return h.base == base; });
    if (existing != hierarchies_.end()) { // cpu and cpuacct share one, say
        existing->controllers.emplace_back(controller);
        return;
    }
    remove_stale_groups(parent);
    if (::mkdir(base.c_str(), 0755) != 0) {
        problems.push_back(system_error_text("mkdir " + base, errno));
        return;
    }
    hierarchies_.push_back({base, false, {controller}});
}

std::string Cgroups::describe(const std::vector<std::string> &problems) const {
    std::vector<std::string> v1, v2;
    for (const Hierarchy &hierarchy : hierarchies_)
        for (const std::string &controller : hierarchy.controllers)
            (hierarchy.v2 ? v2 : v1).push_back(controller);
    std::vector<std::string> parts;
    if (!v1.empty())
        parts.push_back("cgroup v1 " + join(v1, ", "));
    if (std::any_of(hierarchies_.begin(), hierarchies_.end(),
                    [](const Hierarchy &h) { return h.v2; }))
        parts.push_back("cgroup v2 " + (v2.empty() ? std::string("(kill only)") : join(v2, ", ")));
    if (!complete()) {
        std::vector<std::string> missing;
        for (const char *controller : wanted_controllers)
            if (!has(controller))
                missing.emplace_back(controller);
        // The first reason is the telling one; the rest are usually the same, elsewhere.
        parts.push_back("no " + join(missing, ", ") + " limit (" +
                        (problems.empty() ? std::string("unknown") : problems.front()) +
                        (problems.size() > 1
                             ? "; " + std::to_string(problems.size() - 1) + " more like it"
                             : std::string()) +
                        ")");
    }
    return join(parts, "; ");
}

Cgroups Cgroups::set_up(const Log &log) {
    Cgroups cgroups;
    const std::string tag = group_prefix + std::to_string(::getpid()) + "." + random_hex(3);
    const std::vector<Mount> mounts = cgroup_mounts();
    std::vector<std::string> problems;
    // v2 first: it serves a controller when its root offers it, and cgroup.kill regardless.
    for (const Mount &mount : mounts) {
        // The root's children, where the controllers can be enabled (the root may hold
        // processes; no other group with processes may enable controllers for its children).
        if (mount.v2 &&
            cgroups.add_v2(::geteuid() == 0 ? mount.point : mount.point + own_path(mount),
                           mount.controllers, tag, problems))
            break;
    }
    for (const char *controller : wanted_controllers) {
        if (cgroups.has(controller))
            continue;
        const auto mount = std::find_if(mounts.begin(), mounts.end(), [&](const Mount &m) {
            return !m.v2 && contains(m.controllers, controller);
        });
        if (mount == mounts.end())
            problems.push_back(std::string("no cgroup hierarchy offers ") + controller);
        else
            cgroups.add_v1(controller, mount->point + own_path(*mount), tag, problems);
    }
    cgroups.description_ = cgroups.describe(problems);
    if (cgroups.complete())
        log.info("cgroups.ready", {{"cgroups", cgroups.description_}});
    else
        log.warn("cgroups.incomplete",
                 {{"cgroups", cgroups.description_},
                  {"fallback", "per-process rlimits; the process limit per uid (RLIMIT_NPROC)"}});
    return cgroups;
}

Cgroups::~Cgroups() {
    for (const Hierarchy &hierarchy : hierarchies_)
        remove_tree(hierarchy.base);
}

namespace {

void write_memory_limit(const std::string &path, bool v2, long long memory_bytes) {
    const std::string bytes = std::to_string(memory_bytes);
    write_or_throw(path + (v2 ? "/memory.max" : "/memory.limit_in_bytes"), bytes);
    // Swap counts against the same limit where the kernel accounts it.
    if (v2)
        write_file(path + "/memory.swap.max", "0");
    else
        write_file(path + "/memory.memsw.limit_in_bytes", bytes);
}

void write_cpu_limit(const std::string &path, bool v2, int cpu_percent) {
    const long long period = 100000;
    const std::string quota = std::to_string(period * cpu_percent / 100);
    if (v2) {
        write_or_throw(path + "/cpu.max", quota + " " + std::to_string(period));
    } else {
        write_or_throw(path + "/cpu.cfs_period_us", std::to_string(period));
        write_or_throw(path + "/cpu.cfs_quota_us", quota);
    }
}

// The limits of `controllers` into the group at `path`.
void write_limits(const std::string &path, bool v2, const std::vector<std::string> &controllers,
                  const CgroupLimits &limits) {
    for (const std::string &controller : controllers) {
        if (controller == "pids")
            write_or_throw(path + "/pids.max", std::to_string(limits.processes));
        else if (controller == "memory")
            write_memory_limit(path, v2, limits.memory_bytes);
        else if (controller == "cpu")
            write_cpu_limit(path, v2, limits.cpu_percent);
    }
}

} // namespace

TaskCgroup Cgroups::create(const CgroupLimits &limits) const {
    TaskCgroup group;
    const std::string name = "command-" + random_hex(6);
    for (const Hierarchy &hierarchy : hierarchies_) {
        const std::string path = join_path(hierarchy.base, name);
        if (::mkdir(path.c_str(), 0755) != 0)
            throw Error(ErrorCode::InternalError, system_error_text("mkdir " + path, errno));
        group.directories_.push_back({path, hierarchy.v2});
        write_limits(path, hierarchy.v2, hierarchy.controllers, limits);
        UniqueFd procs(::open((path + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
        if (!procs.valid())
            throw Error(ErrorCode::InternalError,
                        system_error_text("open " + path + "/cgroup.procs", errno));
        group.procs_.push_back(std::move(procs));
    }
    return group;
}

} // namespace tr::runner
