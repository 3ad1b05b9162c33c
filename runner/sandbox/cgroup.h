// Control groups: limits that bind a task's processes together, not each one. Every command
// runs in a group of its own with a process limit (pids), a memory limit (memory, swap
// included) and a CPU quota (cpu), and the whole group is killed when the command ends, so a
// process that left the process group (setsid, a double fork) dies too.
//
// Each controller is taken from cgroup v2 where the machine has it there, else from its v1
// hierarchy (/sys/fs/cgroup/<controller>/); a v2 group is made in any case where a v2
// hierarchy is mounted, for cgroup.kill. The runner's groups live under
// task-runner.<pid>.<random> in each hierarchy and go when it stops; those of a runner that
// died are removed by the next one to start.
#pragma once

#include "core/log.h"
#include "core/unique_fd.h"

#include <string>
#include <vector>

namespace tr::runner {

struct CgroupLimits {
    long long memory_bytes = 0;
    int processes = 0;
    int cpu_percent = 0; // of one CPU
};

// Where a group's members can be killed from, also by another process (the watchdog): its v2
// directory for cgroup.kill (empty without one) and a directory whose cgroup.procs lists them.
struct CgroupKillPaths {
    std::string v2_directory;
    std::string watched_directory; // empty: no group
};

// SIGKILL to every process in the group, then waits (up to 2 s) until it is empty.
void kill_cgroup_members(const CgroupKillPaths &paths) noexcept;

// Lets the children of cgroup v2 group `group` use `controller` (its cgroup.subtree_control).
// A group that holds processes cannot (cgroup v2's "no internal processes" rule: EBUSY), and
// that is where the runner is under systemd's Delegate=yes: alone in its service's group, the
// only one it may write. Then it first moves itself into a leaf of that group, `group`/runner,
// as systemd's delegation guide prescribes; never when another process is in the group, whose
// place is not the runner's to change. False with errno set when the kernel refuses.
bool enable_controller_for_children(const std::string &group, const std::string &controller);

// One command's group, in every hierarchy used. Destroying it kills what is still inside and
// removes the directories.
class TaskCgroup {
public:
    TaskCgroup() = default;
    TaskCgroup(TaskCgroup &&other) noexcept = default;
    TaskCgroup &operator=(TaskCgroup &&other) noexcept;
    TaskCgroup(const TaskCgroup &) = delete;
    TaskCgroup &operator=(const TaskCgroup &) = delete;
    ~TaskCgroup();

    // The cgroup.procs files a child writes "0" to (SpawnSpec::join_cgroups).
    std::vector<int> join_fds() const;
    // SIGKILL to every process in the group, then waits (up to 2 s) until it is empty.
    void kill_all() noexcept { kill_cgroup_members(kill_paths()); }
    CgroupKillPaths kill_paths() const;
    // Whether the kernel refused a fork for the process limit, or killed for the memory limit.
    bool hit_process_limit() const;
    bool hit_memory_limit() const;

private:
    friend class Cgroups;
    struct Directory {
        std::string path;
        bool v2 = false;
    };
    void remove() noexcept;

    std::vector<Directory> directories_;
    std::vector<UniqueFd> procs_;
};

class Cgroups {
public:
    // Finds the hierarchies and makes this runner's groups; never throws: where nothing can be
    // made, available() is false and description() says why.
    static Cgroups set_up(const Log &log);

    Cgroups(Cgroups &&other) noexcept = default;
    Cgroups &operator=(Cgroups &&) = delete;
    Cgroups(const Cgroups &) = delete;
    Cgroups &operator=(const Cgroups &) = delete;
    ~Cgroups(); // removes this runner's groups

    bool limits_processes() const { return has("pids"); }
    bool limits_memory() const { return has("memory"); }
    bool limits_cpu() const { return has("cpu"); }
    bool available() const { return !hierarchies_.empty(); }
    // "cgroup v1 pids, memory, cpu; cgroup v2 (kill)", or "none: <why>".
    const std::string &description() const { return description_; }

    // A new group with these limits. Throws Error(InternalError) naming the file that failed.
    TaskCgroup create(const CgroupLimits &limits) const;

private:
    struct Hierarchy {
        std::string base; // this runner's directory
        bool v2 = false;
        std::vector<std::string> controllers;
    };
    Cgroups() = default;
    bool has(const std::string &controller) const;
    bool complete() const { return limits_processes() && limits_memory() && limits_cpu(); }
    // set_up's steps. A failure goes to `problems`, and add_v2 then returns false.
    bool add_v2(const std::string &parent, const std::vector<std::string> &offered,
                const std::string &tag, std::vector<std::string> &problems);
    void add_v1(const char *controller, const std::string &parent, const std::string &tag,
                std::vector<std::string> &problems);
    std::string describe(const std::vector<std::string> &problems) const;

    std::vector<Hierarchy> hierarchies_;
    std::string description_;
};

} // namespace tr::runner
