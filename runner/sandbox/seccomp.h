// The seccomp filter every command runs under: system calls a task never needs and an attacker
// would (mounting, namespaces, modules, kexec, reboot, the clock, bpf, ptrace of others,
// keyrings, io_uring, pushing input into a terminal with TIOCSTI, vsock, a setuid or setgid
// bit on a file...) fail with EPERM. Built
// once with libseccomp at start-up; installed by bubblewrap (--seccomp FD) or, without it, by
// the child itself just before exec (SpawnSpec::seccomp).
#pragma once

#include "core/unique_fd.h"

#include <linux/filter.h>

#include <vector>

namespace tr::runner {

class SeccompFilter {
public:
    // `deny_sockets`: socket(2) of every family but AF_NETLINK fails too, for commands that
    // have no network namespace of their own (no sandbox) and must have no network.
    // Throws Error(InternalError) when libseccomp cannot build it.
    static SeccompFilter build(bool deny_sockets);

    // The program, for prctl(PR_SET_SECCOMP); valid while this object lives.
    const sock_fprog *program() const noexcept { return &program_; }
    // A fresh readable descriptor holding the program, positioned at its start (for bwrap,
    // which reads it to the end). Throws Error(InternalError).
    UniqueFd as_file() const;

    SeccompFilter(const SeccompFilter &) = delete;
    SeccompFilter &operator=(const SeccompFilter &) = delete;
    SeccompFilter(SeccompFilter &&other) noexcept;
    SeccompFilter &operator=(SeccompFilter &&other) noexcept;

private:
    SeccompFilter() = default;

    std::vector<sock_filter> instructions_;
    sock_fprog program_{};
};

} // namespace tr::runner
