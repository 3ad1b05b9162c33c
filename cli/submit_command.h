// `task-runner submit FILE|-`: a tasks file as one batch, for cron (cli/tasks_file.h). Exit
// status: 0 every task completed (with --wait) or was accepted; 1 some did not complete; 2 bad
// input, with file:line; 3 the server could not be reached or refused the key; 4 another run
// holds the lock.
#pragma once

#include <string>

namespace tr::cli {

class Invocation;

int submit_command(const Invocation &invocation);

// The lock file a submission of `path` takes unless --lock names one:
// <state dir>/locks/<file name>-<first 12 hex digits of SHA-256 of the absolute path>.lock, the
// file name cut short (at a character boundary) so the whole fits NAME_MAX.
std::string default_lock_path(const std::string &absolute_path);

} // namespace tr::cli
