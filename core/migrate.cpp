// Applying migrations, one transaction each.
#include "core/migrate.h"

#include "core/error.h"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <set>
#include <string>

namespace tr {
namespace {

std::set<int> applied_versions(SQLite::Database &database) {
    std::set<int> versions;
    // Migration 1 creates schema_migrations itself, so a fresh database has none applied.
    if (!database.tableExists("schema_migrations"))
        return versions;
    SQLite::Statement select(database, "SELECT version FROM schema_migrations");
    while (select.executeStep())
        versions.insert(select.getColumn(0).getInt());
    return versions;
}

} // namespace

int schema_version(SQLite::Database &database) {
    const std::set<int> versions = applied_versions(database);
    return versions.empty() ? 0 : *versions.rbegin();
}

MigrationReport migrate(SQLite::Database &database, const std::vector<Migration> &migrations) {
    MigrationReport report;
    const int newest_known = migrations.empty() ? 0 : migrations.back().version;
    const std::set<int> already = applied_versions(database);
    for (const Migration &migration : migrations) {
        if (already.count(migration.version))
            continue; // the common start-up: nothing to do, and no write lock taken for it
        SQLite::Transaction transaction(database, SQLite::TransactionBehavior::IMMEDIATE);
        // Read inside the write lock: another process may have applied it while we waited.
        if (applied_versions(database).count(migration.version))
            continue; // the transaction rolls back; it changed nothing
        try {
            database.exec(migration.sql);
            SQLite::Statement record(database,
                                     "INSERT INTO schema_migrations (version, name) VALUES (?, ?)");
            record.bind(1, migration.version);
            record.bind(2, migration.name);
            record.exec();
            transaction.commit();
        } catch (const SQLite::Exception &e) {
            throw Error(ErrorCode::InternalError, "migration " + std::to_string(migration.version) +
                                                      "_" + migration.name + " failed: " + e.what());
        }
        report.applied.push_back(migration.version);
    }
    report.schema_version = schema_version(database);
    if (report.schema_version > newest_known)
        throw Error(ErrorCode::InternalError,
                    "the database schema is version " + std::to_string(report.schema_version) +
                        ", newer than this build knows (" + std::to_string(newest_known) +
                        "); run a newer build");
    return report;
}

} // namespace tr
