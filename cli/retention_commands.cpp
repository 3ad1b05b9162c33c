// The upkeep subcommands: their declarations and what they run.
#include "cli/retention_commands.h"

#include "cli/duration.h"
#include "cli/exit_codes.h"
#include "cli/usage_error.h"
#include "core/backup.h"
#include "core/config.h"
#include "core/db.h"
#include "core/error.h"
#include "core/migrate.h"
#include "core/paths.h"
#include "core/retention.h"

#include <SQLiteCpp/Transaction.h>

#include <cstdio>
#include <iostream>

namespace tr::cli {
namespace {

const Option config_option{"--config", "FILE",
                           "the service's configuration file (else $TASK_RUNNER_CONFIG, else "
                           "the build's config/task-runner.cfg)"};
const ExitCode usage_exit{exit_bad_input, "wrong usage, or bad input (a duration, a status, a "
                                          "file that exists or is not a Task Runner database)"};
const ExitCode system_exit{exit_server, "the configuration or the database could not be used"};

Config service_config(const Invocation &invocation) {
    return load_config(invocation.value("--config").value_or(default_config_path()));
}

// Bad input found in core (a status, a file that exists, a backup that is not sound) is the
// caller's to fix: exit 2, like a usage mistake, without the usage text.
template <typename Run> int reporting_input_errors(Run run) {
    try {
        return run();
    } catch (const Error &e) {
        if (e.code() == ErrorCode::InvalidRequest || e.code() == ErrorCode::Conflict)
            throw InputError(e.what());
        throw;
    }
}

std::string megabytes(long long bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return text;
}

std::string by_status(const PruneCounts &counts) {
    std::string text;
    for (const auto &[status, count] : counts.by_status)
        text += (text.empty() ? "" : ", ") + status + " " + std::to_string(count);
    return text.empty() ? "none" : text;
}

// The freed pages back to the filesystem, 1024 to a short transaction, or why not.
void release_space(Db &db) {
    if (auto_vacuum_mode(db) != "incremental") {
        std::cout << "the freed pages are reused by new tasks; this database predates incremental "
                     "auto-vacuum, so they are not returned to the filesystem (task-runner prune "
                     "--vacuum converts it, with one VACUUM)\n";
        return;
    }
    const PageCounts before = page_counts(db);
    while (page_counts(db).free_pages > 0) {
        SQLite::Transaction transaction(db.handle(), SQLite::TransactionBehavior::IMMEDIATE);
        release_free_pages(db, 1024);
        transaction.commit();
    }
    std::cout << "returned " << before.free_pages << " free pages ("
              << megabytes(before.free_pages * before.page_size) << ") to the filesystem\n";
}

int prune(const Invocation &invocation) {
    const std::optional<std::string> older_than = invocation.value("--older-than");
    if (!older_than)
        throw UsageError("prune needs --older-than, such as --older-than 30d");
    const TimePoint cutoff = Clock::now() - parse_duration(*older_than);
    const RetentionCutoffs cutoffs = cutoffs_for(invocation.values("--status"), cutoff);
    const Config config = service_config(invocation);
    if (!path_exists(config.storage.database))
        throw InputError("no database at " + config.storage.database);
    Db db(config.storage);
    const std::string before = " finished before " + format_utc(cutoff);
    if (invocation.has("--dry-run")) {
        const PruneCounts due = count_due(db, cutoffs);
        std::cout << "would prune " << due.total() << " tasks" << before << ": " << by_status(due)
                  << "\n";
        return exit_ok;
    }
    int batches = 0;
    const PruneCounts deleted = prune_all(db, cutoffs, &batches);
    std::cout << "pruned " << deleted.total() << " tasks" << before << ": " << by_status(deleted)
              << " (" << batches << " transactions of at most " << prune_batch_size << " tasks; "
              << deleted.batches << " batches emptied)\n";
    if (invocation.has("--vacuum")) {
        const std::string mode = vacuum_database(db);
        std::cout << (mode == "incremental" ? "returned every free page to the filesystem\n"
                                            : "converted the database to incremental "
                                              "auto-vacuum (VACUUM)\n");
        return exit_ok;
    }
    release_space(db);
    return exit_ok;
}

int prune_command(const Invocation &invocation) {
    return reporting_input_errors([&] { return prune(invocation); });
}

int backup_command(const Invocation &invocation) {
    return reporting_input_errors([&] {
        const Config config = service_config(invocation);
        const std::string target =
            absolute_path(invocation.operands().front(), current_directory());
        const BackupReport report =
            back_up_database(config.storage.database, target, invocation.has("--force"));
        std::printf("backed up %s to %s: %lld tasks, schema version %d, %s, copied in %.3f s; "
                    "integrity_check ok\n",
                    config.storage.database.c_str(), target.c_str(), report.tasks,
                    report.schema_version, megabytes(report.bytes).c_str(), report.seconds);
        return exit_ok;
    });
}

int restore_command(const Invocation &invocation) {
    const Config config = service_config(invocation);
    const std::string source = absolute_path(invocation.operands().front(), current_directory());
    try {
        const RestoreReport report = restore_database(config.storage.database, source);
        std::cout << "restored " << source << " into " << config.storage.database << ": "
                  << report.tasks << " tasks, schema version " << report.schema_version
                  << (report.schema_version < embedded_migrations().back().version
                          ? " (migrated when the stack starts)"
                          : "")
                  << "\n";
        if (!report.replaced_as.empty())
            std::cout << "the previous database is kept as " << report.replaced_as
                      << " (remove it once the restored one serves)\n";
        return exit_ok;
    } catch (const Error &e) {
        if (e.code() == ErrorCode::Conflict) { // a restore's one conflict: the database in use
            std::cerr << "task-runner: " << e.what() << "\n";
            return exit_locked;
        }
        if (e.code() == ErrorCode::InvalidRequest)
            throw InputError(e.what());
        throw;
    }
}

} // namespace

Command prune_command_spec() {
    return Command{
        "prune",
        "",
        "Delete finished tasks older than a duration, with their steps and events.",
        {config_option,
         {"--older-than", "DURATION",
          "tasks that ended longer ago than this: a whole number and d, h, m or s (30d, 12h)"},
         {"--status", "S", "only tasks in status S (completed, failed, cancelled, timeout)", true},
         {"--dry-run", "", "delete nothing; print how many tasks would go, by status"},
         {"--vacuum", "",
          "afterwards, return every free page to the filesystem; a database made before "
          "incremental auto-vacuum is converted by one VACUUM (it holds the write lock while it "
          "rewrites the database: run it with the stack stopped)"}},
        "Queued and running tasks never go; a task of a batch goes only when every task of its "
        "batch is due, and the batch with it. Deletes 200 tasks to a transaction, so the stack "
        "may run meanwhile; the counters of /metrics are kept. The runner does the same by "
        "itself when storage.retention_days is set.",
        {{exit_ok, "done (or, with --dry-run, counted)"}, usage_exit, system_exit},
        0,
        0,
        prune_command,
        nullptr};
}

Command backup_command_spec() {
    return Command{
        "backup",
        "FILE",
        "Copy the live database to FILE, consistent, while the stack runs.",
        {config_option, {"--force", "", "overwrite FILE if it exists"}},
        "One read transaction copies the database as one commit left it (SQLite's backup API); "
        "writers are not held up. The copy is written beside FILE under a temporary name, "
        "checked with PRAGMA integrity_check, synced and renamed to FILE, mode 0600: it holds "
        "the API key hashes and any model key set through the API.",
        {{exit_ok, "FILE holds the checked copy"}, usage_exit, system_exit},
        1,
        1,
        backup_command,
        nullptr};
}

Command restore_command_spec() {
    return Command{
        "restore",
        "FILE",
        "Replace the database with a backup; only while no process has the database open.",
        {config_option},
        "FILE must pass PRAGMA integrity_check and have the schema Task Runner makes, at a "
        "version no newer than this build's (an older one is migrated when the stack starts). "
        "The previous database is kept beside it as DATABASE.replaced-TIME.",
        {{exit_ok, "restored"},
         usage_exit,
         system_exit,
         {exit_locked, "the database is in use: stop the stack (or the sqlite3 session) first"}},
        1,
        1,
        restore_command,
        nullptr};
}

} // namespace tr::cli
