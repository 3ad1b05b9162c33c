// task-runner prune, backup and restore: the database's upkeep, on the server machine, run
// directly against the configured database (storage.database), with the stack up or down
// (restore: down). See core/retention.h and core/backup.h.
#pragma once

#include "cli/command_line.h"

namespace tr::cli {

Command prune_command_spec();
Command backup_command_spec();
Command restore_command_spec();

} // namespace tr::cli
