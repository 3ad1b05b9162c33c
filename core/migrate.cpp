// Applying migrations, one transaction each.
#include "core/migrate.h"

#include "core/config.h"
#include "core/db.h"
#include "core/embedded_file.h"
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

// "0001_initial.sql" -> {1, "initial"}.
Migration parse_migration(const EmbeddedFile &file) {
    const std::string name = file.name;
    const bool well_formed =
        name.size() > 9 && name.compare(name.size() - 4, 4, ".sql") == 0 && name[4] == '_' &&
        name.find_first_not_of("0123456789") == 4 &&
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_", 5) == name.size() - 4;
    if (!well_formed)
        throw Error(ErrorCode::InternalError,
                    "migration file \"" + name + "\" is not named NNNN_short_name.sql");
    return {std::stoi(name.substr(0, 4)), name.substr(5, name.size() - 9), file.text};
}

} // namespace

const std::vector<Migration> &embedded_migrations() {
    static const std::vector<Migration> migrations = [] {
        std::vector<Migration> parsed;
        for (const EmbeddedFile &file : embedded_migration_files()) {
            parsed.push_back(parse_migration(file));
            if (parsed.size() > 1 && parsed[parsed.size() - 2].version >= parsed.back().version)
                throw Error(ErrorCode::InternalError, "two migrations share version " +
                                                          std::to_string(parsed.back().version));
        }
        return parsed;
    }();
    return migrations;
}

int schema_version(SQLite::Database &database) {
    const std::set<int> versions = applied_versions(database);
    return versions.empty() ? 0 : *versions.rbegin();
}

MigrationReport migrate(SQLite::Database &database, const std::vector<Migration> &migrations) {
    MigrationReport report;
    const int newest_known = migrations.empty() ? 0 : migrations.back().version;
    const std::set<int> already = applied_versions(database);
    // Checked before applying anything: a downgrade would misread the schema silently.
    if (!already.empty() && *already.rbegin() > newest_known)
        throw Error(ErrorCode::InternalError,
                    "the database schema is version " + std::to_string(*already.rbegin()) +
                        ", newer than this build knows (" + std::to_string(newest_known) +
                        "); run a newer build");
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
                                                      "_" + migration.name +
                                                      " failed: " + e.what());
        }
        report.applied.push_back(migration.version);
    }
    report.schema_version = schema_version(database);
    return report;
}

MigrationReport set_up_database(const StorageConfig &storage) {
    prepare_database_file(storage.database); // before any connection: see core/db.h
    Db db(storage);
    return migrate(db.handle());
}

} // namespace tr
