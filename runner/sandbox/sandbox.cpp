// Setting up the runner's sandbox: each mechanism probed the way commands will use it, so a
// runner that says "bubblewrap" has run a command in it, and one that cannot says why.
#include "runner/sandbox/sandbox.h"

#include "core/error.h"
#include "core/paths.h"
#include "runner/sandbox/beneath.h"
#include "runner/sandbox/bubblewrap.h"
#include "runner/sandbox/command.h"
#include "runner/sandbox/idmap.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

namespace tr::runner {
namespace {

std::string read_text(const char *path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The host's file with a line for `id` added when it has none: "whoami", git and Python's
// getpass need a name for the uid they run as.
std::string with_entry(std::string text, unsigned id, const std::string &line) {
    std::stringstream lines(text);
    std::string existing;
    while (std::getline(lines, existing)) {
        const std::size_t first = existing.find(':');
        const std::size_t second = existing.find(':', first + 1);
        const std::size_t third = existing.find(':', second + 1);
        if (third != std::string::npos &&
            existing.substr(second + 1, third - second - 1) == std::to_string(id))
            return text;
    }
    if (!text.empty() && text.back() != '\n')
        text += '\n';
    return text + line + "\n";
}

// Runs `exit 0` as every command will run; "" when it worked, else why not.
std::string probe(const Sandbox &sandbox, const std::string &directory) {
    const std::atomic<bool> never{false};
    const TaskControl control(TaskControl::Clock::now() + std::chrono::seconds(20), never);
    CommandSpec spec;
    spec.command = "exit 0";
    spec.working_directory = directory;
    spec.readable_paths = {directory};
    spec.timeout = std::chrono::seconds(20);
    try {
        const CommandResult result = run_command(spec, sandbox, control);
        if (result.status.exited() && result.status.code == 0)
            return "";
        std::string error = result.err.text.substr(0, 300);
        while (!error.empty() && error.back() == '\n')
            error.pop_back();
        return result.status.describe() + (error.empty() ? "" : ": " + error);
    } catch (const Error &e) {
        return e.what();
    }
}

} // namespace

const char *to_string(SandboxKind kind) noexcept {
    return kind == SandboxKind::Bubblewrap ? "bubblewrap" : "none";
}

Sandbox::Sandbox(const Config &config, ProtectedPaths paths, Cgroups cgroups, SeccompFilter seccomp)
    : tools_(config.tools), protected_(std::move(paths)), cgroups_(std::move(cgroups)),
      seccomp_(std::move(seccomp)) {}

std::string Sandbox::user_text() const {
    if (drop_to_)
        return "uid " + std::to_string(drop_to_->uid) + " (tools.sandbox_uid; the runner is root)";
    return "uid " + std::to_string(::geteuid()) + " (the runner's own)";
}

void Sandbox::set_user(const Config &config, bool root) {
    const unsigned uid = root ? static_cast<unsigned>(config.tools.sandbox_uid) : ::geteuid();
    const unsigned gid = root ? static_cast<unsigned>(config.tools.sandbox_uid) : ::getegid();
    if (root)
        drop_to_ = Identity{uid, gid};
    passwd_ = with_entry(read_text("/etc/passwd"), uid,
                         "task:x:" + std::to_string(uid) + ":" + std::to_string(gid) +
                             ":Task Runner sandbox:/tmp:/bin/sh");
    group_ = with_entry(read_text("/etc/group"), gid, "task:x:" + std::to_string(gid) + ":");
}

namespace {

// Masks are placed by path: where a task may rename what lies around a secret, it could move
// the secret out from under its mask. So no secret may be inside a writable path.
void refuse_secrets_within(const ProtectedPaths &protected_paths,
                           const std::vector<std::string> &writable) {
    std::vector<std::string> secrets = protected_paths.secret_files;
    secrets.insert(secrets.end(), protected_paths.secret_directories.begin(),
                   protected_paths.secret_directories.end());
    for (const std::string &secret : secrets)
        if (is_within_any(secret, writable))
            throw Error(ErrorCode::InvalidRequest,
                        "tools.writable_paths contains " + secret +
                            ", the service's own (its database, a config file or its run "
                            "directory): tasks could move it out of the sandbox's mask; keep "
                            "it outside the writable paths");
}

} // namespace

void Sandbox::idmap_writable(const std::vector<std::string> &writable, const Log &log) {
    try {
        idmap_ = make_idmap_namespace(*drop_to_);
        // A trial mount, as every command will make them, in a child that then exits.
        ChildMounts mounts;
        mounts.idmap_namespace = idmap_.get();
        std::vector<UniqueFd> pins;
        for (const std::string &path : writable) {
            pins.push_back(pin_path(path));
            mounts.idmapped_fds.push_back(pins.back().get());
        }
        mounts.idmapped = writable;
        SpawnSpec spec;
        spec.argv = {"/bin/true"};
        spec.prepare = prepare_child_mounts;
        spec.prepare_context = &mounts;
        ChildProcess::spawn(spec).wait();
    } catch (const Error &e) { // not a failure of the runner: commands write as themselves
        idmap_.reset();
        log.warn("sandbox.no_idmapped_mounts",
                 {{"reason", e.what()},
                  {"effect",
                   "commands can write only where uid " + std::to_string(drop_to_->uid) + " may"}});
    }
}

std::string Sandbox::try_bubblewrap(const Config &config, bool root) {
    if (config.tools.sandbox == "none")
        return "tools.sandbox is \"none\"";
    if (::access(bwrap_path, X_OK) != 0)
        return std::string(bwrap_path) + " is not installed (Debian package bubblewrap)";
    if (root && ::access(setpriv_path, X_OK) != 0)
        return std::string(setpriv_path) + " is not installed (Debian package util-linux)";
    kind_ = SandboxKind::Bubblewrap;
    const std::string directory = real_directory(config.tools.working_directory).value_or("/");
    if (const std::string failed = probe(*this, directory); !failed.empty())
        return "bwrap cannot create a sandbox here (" + failed + ")";
    return "";
}

void Sandbox::fall_back(const Config &config, const std::string &problem, bool root,
                        const Log &log) {
    if (config.tools.sandbox == "bubblewrap")
        throw Error(ErrorCode::InternalError, "tools.sandbox is \"bubblewrap\" but " + problem);
    kind_ = SandboxKind::None;
    // Without bwrap no mount namespace hides the host's unix sockets (and without root no
    // network namespace hides the rest): sockets are what the filter takes away.
    if (config.tools.network != "host")
        seccomp_ = SeccompFilter::build(true);
    if (config.tools.sandbox != "none")
        log.warn(
            "sandbox.unavailable",
            {{"reason", problem},
             {"fallback", root ? "no filesystem sandbox: commands run as " + user_text() +
                                     " in PID and network namespaces of their own, with seccomp"
                               : "no filesystem sandbox and no namespaces: commands run as the "
                                 "runner's user with seccomp and resource limits only"}});
}

Sandbox Sandbox::set_up(const Config &config, const std::string &run_dir,
                        const std::string &program_dir, const Log &log) {
    Sandbox sandbox(config, tr::protected_paths(config, run_dir, program_dir), Cgroups::set_up(log),
                    SeccompFilter::build(false));
    const bool root = ::geteuid() == 0;
    sandbox.set_user(config, root);
    for (const std::string &path : protected_paths_in_grants(sandbox.protected_, config))
        log.warn(
            "sandbox.protected_path",
            {{"path", path}, {"reason", "inside tools.allowed_paths or tools.writable_paths"}});
    const std::vector<std::string> writable = resolve_roots(config.tools.writable_paths);
    refuse_secrets_within(sandbox.protected_, writable);
    // As root, writable paths are idmapped so the sandbox user can write root's files there.
    if (root && !writable.empty())
        sandbox.idmap_writable(writable, log);
    if (const std::string problem = sandbox.try_bubblewrap(config, root); !problem.empty())
        sandbox.fall_back(config, problem, root, log);
    log.info("sandbox.ready", {{"kind", to_string(sandbox.kind_)},
                               {"user", sandbox.user_text()},
                               {"cgroups", sandbox.cgroups_.description()},
                               {"network", config.tools.network},
                               {"idmapped_writable_paths", sandbox.idmap_.valid()}});
    return sandbox;
}

} // namespace tr::runner
