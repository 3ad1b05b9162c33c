// Schema migrations: db/migrations/NNNN_name.sql, embedded at build time, applied in order,
// each in its own BEGIN IMMEDIATE transaction and recorded in schema_migrations. Any component
// may run them at start-up; when two start at once, the second waits on the write lock and then
// finds the work done.
#pragma once

#include <SQLiteCpp/Database.h>

#include <string>
#include <vector>

namespace tr {

struct StorageConfig; // core/config.h

struct Migration {
    int version;
    std::string name; // "initial" for 0001_initial.sql
    const char *sql;
};

// Every migration in db/migrations, by version. Throws Error(InternalError) when a file is not
// named NNNN_short_name.sql or two share a version.
const std::vector<Migration> &embedded_migrations();

struct MigrationReport {
    std::vector<int> applied; // versions applied by this call
    int schema_version = 0;   // the version after the call
};

// Throws Error(InternalError) when the database is newer than the migrations given (a downgrade
// would silently misread it), or when a migration fails (its transaction is rolled back).
MigrationReport migrate(SQLite::Database &database,
                        const std::vector<Migration> &migrations = embedded_migrations());

int schema_version(SQLite::Database &database);

// What a program does once at start-up, before it opens connections of its own: creates the
// configured database file if needed (prepare_database_file, whose once-per-process rule holds
// here too), opens it and applies the embedded migrations. Throws as those do.
MigrationReport set_up_database(const StorageConfig &storage);

} // namespace tr
