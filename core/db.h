// The SQLite connection every component uses, opened one way: WAL, a busy timeout, foreign
// keys on, the file created 0600. One Db per thread, never shared (SQLITE_OPEN_NOMUTEX).
//
// Statements are prepared once per connection and reused: query(sql) hands out the cached
// statement inside a Query guard, which resets it and clears its bindings when it goes out of
// scope, so a half-read statement never holds a read transaction open.
#pragma once

#include "core/error.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <jansson.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tr {

struct StorageConfig; // core/config.h

enum class Durability {
    Normal, // synchronous=NORMAL: a commit survives a process crash
    Full,   // synchronous=FULL: a commit survives power loss
};

Durability parse_durability(std::string_view name); // "normal" | "full"

class Query {
public:
    explicit Query(SQLite::Statement &statement) noexcept : statement_(statement) {}
    Query(const Query &) = delete;
    Query &operator=(const Query &) = delete;
    ~Query();

    SQLite::Statement &operator*() noexcept { return statement_; }
    SQLite::Statement *operator->() noexcept { return &statement_; }

private:
    SQLite::Statement &statement_;
};

// Creates the database file (mode 0600) and its directory (0700) when missing, so SQLite never
// creates it with the umask's wider mode (SQLite gives -wal and -shm the database's mode). An
// existing file that cannot be opened for writing (EROFS, EACCES) is accepted: its connections
// are read-only, and their writes fail with SQLITE_READONLY (a 503, see database_error).
//
// Call it once per process, before that process opens any connection: closing a descriptor of
// the database file releases every POSIX lock this process holds on it, including the locks
// of open SQLite connections, after which another process can delete the WAL under them and
// committed transactions vanish. (It happened: 16 handler threads each "touching" the file.)
void prepare_database_file(const std::string &path);

class Db {
public:
    // Opens (creating if needed) the database. Throws SQLite::Exception or Error.
    explicit Db(const std::string &path, Durability durability = Durability::Normal);
    // The configured database (storage.database) with the configured durability
    // (storage.synchronous): how every program opens its connections.
    explicit Db(const StorageConfig &storage);

    SQLite::Database &handle() noexcept { return database_; }
    const std::string &path() const noexcept { return path_; }

    // The prepared statement for this SQL text; `sql` is constant text with placeholders.
    Query query(const std::string &sql);

    // When the wait for a lock that another connection holds began (see wait_for_lock in db.cpp).
    struct LockWait {
        std::chrono::steady_clock::time_point started; // this wait's first try
        std::chrono::steady_clock::time_point last;    // its latest try
    };

private:
    std::string path_;
    SQLite::Database database_;
    std::unique_ptr<LockWait> lock_wait_; // the busy handler's argument: a stable address
    std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> statements_;
};

// A read transaction on cached BEGIN/COMMIT statements (SQLite::Transaction compiles its SQL on
// every use): several SELECTs that see one snapshot. Ends in the destructor; a read has nothing
// to commit, so ending it early or by an exception is the same.
class ReadSnapshot {
public:
    explicit ReadSnapshot(Db &db);
    ReadSnapshot(const ReadSnapshot &) = delete;
    ReadSnapshot &operator=(const ReadSnapshot &) = delete;
    ~ReadSnapshot();

private:
    Db &db_;
};

// Why the database cannot be written just now, though it may be later with nothing stored lost.
enum class WriteFailure {
    DiskFull,   // SQLITE_FULL, ENOSPC, EDQUOT
    ReadOnly,   // SQLITE_READONLY (any), EROFS
    IoError,    // SQLITE_IOERR (any), EIO
    CannotOpen, // SQLITE_CANTOPEN: the database or its -wal or -shm cannot be opened
};

// How long a client should wait after a write failure (its Retry-After): a full disk or a
// read-only filesystem needs someone to act, so retrying every second only adds load; ten
// seconds still notices the fix soon.
constexpr std::chrono::seconds write_failure_retry{10};

// What a WAL that has grown (behind a long read transaction) is cut back to when it starts over.
inline constexpr long long wal_size_limit_bytes = 8LL * 1024 * 1024;

// The 503 for it: "the database's disk is full", "the database cannot be written: read-only"...
// with write_failure_retry as its Retry-After.
Error write_failure_error(WriteFailure failure);

// The WriteFailure a SQLite error is, if it is one: SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY
// or SQLITE_CANTOPEN, whatever the extended code. A writer that gets one should stop writing
// and back off (the runner stops claiming); busy, locked and constraint errors are not.
std::optional<WriteFailure> write_failure_of(const SQLite::Exception &e) noexcept;
bool is_write_failure(const SQLite::Exception &e) noexcept;

// Maps a SQLite failure to the service's error. ServiceUnavailable (the client may retry):
// busy or locked after the timeout, a write failure (above), out of memory, SQLITE_PROTOCOL (a
// WAL lock race). Conflict: a uniqueness violation. Anything else InternalError.
Error database_error(const SQLite::Exception &e);

// Column helpers: NULL as nullopt.
std::optional<std::string> optional_text(const SQLite::Column &column);
std::optional<long long> optional_int(const SQLite::Column &column);

// A text column as a new JSON string, NULL as JSON null.
json_t *text_or_null(const SQLite::Column &column);

} // namespace tr
