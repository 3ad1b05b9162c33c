// Backup and restore of the whole database, for `task-runner backup` and `task-runner restore`.
//
// A backup is an online copy: SQLite's backup API in one step, inside one read transaction, so
// the copy is the database exactly as one commit left it. In WAL mode a reader never blocks
// writers (submissions and the runner go on meanwhile); and a backup in small steps would start
// over whenever another connection writes between two steps, which under a steady load is always
// (sqlite3_backup_step: "the backup will be restarted by the next call"). VACUUM INTO would
// also be one read transaction, but rebuilds every table and index as it goes: more CPU and time
// for a smaller file. The copy is written beside the target under a temporary name, made a
// self-contained single file (journal_mode=DELETE), checked with PRAGMA integrity_check, synced,
// then renamed into place, so FILE is either the whole checked copy or not there.
//
// A restore refuses while any process has the database open: every SQLite connection to a WAL
// database holds a read lock on a byte of its -shm file for as long as it is open (the "DMS"
// lock, SQLite's own rule for deleting the WAL), which the stack's handlers and runner, and an
// auditor's sqlite3, all do. The file given is copied beside the database and checked (a SQLite
// database, integrity_check "ok", a Task Runner schema not newer than this build's) before
// anything is replaced; the old database and its WAL are kept as DATABASE.replaced-TIME(-wal).
#pragma once

#include <string>

namespace tr {

struct BackupReport {
    long long pages = 0;
    long long bytes = 0;
    long long tasks = 0;
    int schema_version = 0;
    double seconds = 0; // the copy's read transaction, from its start to the copy's last page
};

// Copies `database` (which must exist) to `target`. Throws Error(Conflict) when `target` exists
// and `overwrite` is false, Error(InternalError) when the copy fails its integrity check, and
// Error or SQLite::Exception for what the system or SQLite refused. Nothing is left at `target`
// (or beside it) by a failure.
BackupReport back_up_database(const std::string &database, const std::string &target,
                              bool overwrite);

struct RestoreReport {
    long long tasks = 0;
    int schema_version = 0;
    std::string replaced_as; // where the previous database went; empty when there was none
};

// Whether some process has `database` open (see above); false when it has no -shm file. Both
// this and restore_database are for a process with no connection of its own to `database`:
// POSIX locks are per process, so its own would not count, and closing the descriptor they
// use releases every lock the process holds on the file, its connections' too.
bool database_in_use(const std::string &database);

// Replaces `database` with the backup at `source`. Throws Error(Conflict) while the database is
// in use, Error(InvalidRequest) when `source` is not a sound Task Runner database this build can
// run, and Error or SQLite::Exception for what the system refused; the database is then as it
// was.
RestoreReport restore_database(const std::string &database, const std::string &source);

} // namespace tr
