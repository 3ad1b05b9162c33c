// What confines a task, decided once when the runner starts and shared by its workers: the
// mechanism (bubblewrap, or none), the user commands run as, the control groups, the seccomp
// filter, idmapped writable paths, and the paths no task may touch. Read-only once made, so
// every worker thread may use it at once.
#pragma once

#include "core/config.h"
#include "core/log.h"
#include "core/process.h"
#include "core/protected_paths.h"
#include "runner/sandbox/cgroup.h"
#include "runner/sandbox/seccomp.h"

#include <optional>
#include <string>
#include <vector>

namespace tr::runner {

class Watchdog;

enum class SandboxKind { None, Bubblewrap };

const char *to_string(SandboxKind kind) noexcept;

class Sandbox {
public:
    // Resolves tools.sandbox ("auto" | "bubblewrap" | "none") by running a trivial command the
    // way every command will run: "auto" falls back to none with a warning, "bubblewrap"
    // throws Error(InternalError) when that does not work here. `run_dir` is the launcher's run
    // directory (may be empty), `program_dir` where the service's programs are.
    static Sandbox set_up(const Config &config, const std::string &run_dir,
                          const std::string &program_dir, const Log &log);

    Sandbox(Sandbox &&) noexcept = default;
    Sandbox &operator=(Sandbox &&) = delete;
    Sandbox(const Sandbox &) = delete;
    Sandbox &operator=(const Sandbox &) = delete;

    SandboxKind kind() const noexcept { return kind_; }
    const ToolsConfig &tools() const noexcept { return tools_; }
    const ProtectedPaths &protected_paths() const noexcept { return protected_; }
    const Cgroups &cgroups() const noexcept { return cgroups_; }
    const SeccompFilter &seccomp() const noexcept { return seccomp_; }
    // The runner's watchdog, which kills commands when the runner stops renewing its leases;
    // null in tools used without a runner (tests).
    const Watchdog *watchdog() const noexcept { return watchdog_; }
    void set_watchdog(const Watchdog *watchdog) noexcept { watchdog_ = watchdog; }
    // The user commands run as when the runner is root; nullopt: the runner's own.
    const std::optional<Identity> &drop_to() const noexcept { return drop_to_; }
    // The idmapping namespace for writable paths (root only), or -1.
    int idmap_namespace() const noexcept { return idmap_.get(); }
    // /etc/passwd and /etc/group as commands see them (with the sandbox user in them).
    const std::string &passwd() const noexcept { return passwd_; }
    const std::string &group() const noexcept { return group_; }

    // "uid 65533 (the runner is root)" or "uid 1000 (the runner's own)": for status and logs.
    std::string user_text() const;

private:
    Sandbox(const Config &config, ProtectedPaths paths, Cgroups cgroups, SeccompFilter seccomp);

    // The steps of set_up, in its order.
    void set_user(const Config &config, bool root); // drop_to_, passwd_ and group_
    // Makes idmap_ and proves a mount with it works; without, a warning and no idmap_.
    void idmap_writable(const std::vector<std::string> &writable, const Log &log);
    // Bubblewrap if it can run a command here (kind_); else why not.
    std::string try_bubblewrap(const Config &config, bool root);
    // Without bubblewrap: Error(InternalError) if tools.sandbox requires it; else kind None,
    // sockets filtered unless tools.network is "host", and a warning unless it was asked for.
    void fall_back(const Config &config, const std::string &problem, bool root, const Log &log);

    SandboxKind kind_ = SandboxKind::None;
    ToolsConfig tools_;
    ProtectedPaths protected_;
    Cgroups cgroups_;
    SeccompFilter seccomp_;
    std::optional<Identity> drop_to_;
    UniqueFd idmap_;
    std::string passwd_;
    std::string group_;
    const Watchdog *watchdog_ = nullptr;
};

} // namespace tr::runner
