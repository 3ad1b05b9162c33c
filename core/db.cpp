// Opening connections, caching statements, translating SQLite errors.
#include "core/db.h"

#include "core/config.h"
#include "core/json.h"
#include "core/paths.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

namespace tr {
namespace {

constexpr int busy_timeout_ms = 5000;

// Reads through a shared mapping of the file instead of a read() into each connection's own
// cache: a connection's cache is dropped whenever another connection has written, which with
// the handlers and the runner writing all the time is at nearly every transaction, and reading
// the pages again then costs a copy out of the kernel per page. (The WAL is read as before.)
constexpr long long mmap_size_bytes = 1LL << 30;

// SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between
// tries, so a writer that finds the lock taken for a millisecond often sleeps 25–50 ms more.
// This one sleeps 0.1 ms, doubling to 3.2 ms, until the timeout, so a waiter takes the lock soon
// after its release. With the runner writing beside the group committer (bench/run.sh) the p99
// of a submission was 103–179 ms in eight runs (median about 130), against 170–196 ms in four
// runs with SQLite's handler.
int wait_for_lock(void *argument, int tries) {
    auto &wait = *static_cast<Db::LockWait *>(argument);
    const auto now = std::chrono::steady_clock::now();
    // SQLite counts `tries` from 0 for each statement run, but not across a statement's prepare
    // (a schema reload): a pause longer than any of ours also means a new wait.
    if (tries == 0 || now - wait.last > std::chrono::milliseconds(100))
        wait.started = now;
    wait.last = now;
    if (now - wait.started > std::chrono::milliseconds(busy_timeout_ms))
        return 0; // give up: the statement fails with SQLITE_BUSY
    const auto pause = std::chrono::microseconds(100 << std::min(tries, 5));
    std::this_thread::sleep_for(pause);
    return 1;
}

void make_directories(const std::string &directory) {
    if (directory == "/" || ::access(directory.c_str(), F_OK) == 0)
        return;
    make_directories(parent_directory(directory));
    if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST)
        throw Error(ErrorCode::InternalError, system_error_text("mkdir " + directory, errno));
}

} // namespace

void prepare_database_file(const std::string &path) {
    make_directories(parent_directory(path));
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        ::close(fd);
        return;
    }
    const int open_errno = errno;
    // An existing database that cannot be written (a read-only filesystem, a file the service's
    // user may only read) is left as it is: SQLite opens it read-only, reads work and every write
    // answers 503 saying so, which tells more than a component that does not start.
    const bool unwritable = open_errno == EROFS || open_errno == EACCES || open_errno == EPERM;
    if (unwritable && path_exists(path))
        return;
    throw Error(ErrorCode::InternalError, system_error_text("open " + path, open_errno));
}

namespace {

// journal_mode=WAL needs a moment of exclusive access; when several processes open a fresh
// database together, one of them can see SQLITE_BUSY here before any busy handler applies.
void enable_wal(SQLite::Database &database) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
    for (;;) {
        try {
            database.exec("PRAGMA journal_mode=WAL");
            return;
        } catch (const SQLite::Exception &e) {
            if (e.getErrorCode() != SQLITE_BUSY || std::chrono::steady_clock::now() > deadline)
                throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
}

} // namespace

Durability parse_durability(std::string_view name) {
    return name == "full" ? Durability::Full : Durability::Normal;
}

Query::~Query() {
    statement_.tryReset();
    try {
        statement_.clearBindings();
    } catch (...) {
        // sqlite3_clear_bindings cannot fail; SQLiteCpp only checks a code that is always OK.
    }
}

Db::Db(const std::string &path, Durability durability)
    : path_(path),
      database_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
                busy_timeout_ms), // SQLite's handler, replaced below by ours, for the open itself
      lock_wait_(std::make_unique<LockWait>()) {
    sqlite3_busy_handler(database_.getHandle(), wait_for_lock, lock_wait_.get());
    // A new (empty) database is made with incremental auto-vacuum, so the pages pruning frees
    // can be given back (core/retention.h). Before the WAL switch, which already writes the
    // header. Only then: on an existing database the pragma is a write transaction of its own
    // (it stores the mode), at every open, and fails on a read-only one; an existing database is
    // converted by one VACUUM instead (task-runner prune --vacuum).
    if (struct stat file{}; ::stat(path.c_str(), &file) == 0 && file.st_size == 0)
        database_.exec("PRAGMA auto_vacuum=INCREMENTAL");
    enable_wal(database_);
    database_.exec(durability == Durability::Full ? "PRAGMA synchronous=FULL"
                                                  : "PRAGMA synchronous=NORMAL");
    database_.exec("PRAGMA foreign_keys=ON");
    database_.exec("PRAGMA mmap_size=" + std::to_string(mmap_size_bytes));
    // A reader that keeps a transaction open (an auditor's sqlite3 session) stops checkpoints
    // from starting the WAL over, so it grows; this has the next reset cut it back.
    database_.exec("PRAGMA journal_size_limit=" + std::to_string(wal_size_limit_bytes));
}

Db::Db(const StorageConfig &storage)
    : Db(storage.database, parse_durability(storage.synchronous)) {}

Query Db::query(const std::string &sql) {
    auto found = statements_.find(sql);
    if (found == statements_.end())
        found = statements_.emplace(sql, std::make_unique<SQLite::Statement>(database_, sql)).first;
    return Query(*found->second);
}

ReadSnapshot::ReadSnapshot(Db &db) : db_(db) {
    db_.query("BEGIN")->exec();
}

ReadSnapshot::~ReadSnapshot() {
    try {
        db_.query("COMMIT")->exec();
    } catch (...) {
        // COMMIT of a read-only transaction cannot fail for a reason worth reporting; if it did,
        // the connection's next BEGIN would say so.
    }
}

namespace {

// The primary result code (the low byte). SQLiteCpp gives what the failed call returned, which
// is an extended code when extended result codes are on, and -1 when there was no SQLite call.
int primary_code(const SQLite::Exception &e) noexcept {
    const int code = e.getErrorCode() >= 0 ? e.getErrorCode() : e.getExtendedErrorCode();
    return code < 0 ? code : code & 0xff;
}

} // namespace

Error write_failure_error(WriteFailure failure) {
    switch (failure) {
    case WriteFailure::DiskFull:
        return Error(ErrorCode::ServiceUnavailable, "the database's disk is full",
                     write_failure_retry);
    case WriteFailure::ReadOnly:
        return Error(ErrorCode::ServiceUnavailable, "the database cannot be written: read-only",
                     write_failure_retry);
    case WriteFailure::IoError:
        return Error(ErrorCode::ServiceUnavailable,
                     "the database cannot be read or written: I/O error", write_failure_retry);
    case WriteFailure::CannotOpen:
        return Error(ErrorCode::ServiceUnavailable, "the database's files cannot be opened",
                     write_failure_retry);
    }
    return Error(ErrorCode::ServiceUnavailable, "the database cannot be written",
                 write_failure_retry);
}

std::optional<WriteFailure> write_failure_of(const SQLite::Exception &e) noexcept {
    switch (primary_code(e)) {
    case SQLITE_FULL: return WriteFailure::DiskFull;
    case SQLITE_READONLY: return WriteFailure::ReadOnly;
    case SQLITE_IOERR: return WriteFailure::IoError;
    case SQLITE_CANTOPEN: return WriteFailure::CannotOpen;
    default: return std::nullopt;
    }
}

bool is_write_failure(const SQLite::Exception &e) noexcept {
    return write_failure_of(e).has_value();
}

Error database_error(const SQLite::Exception &e) {
    if (const std::optional<WriteFailure> failure = write_failure_of(e))
        return write_failure_error(*failure);
    switch (primary_code(e)) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return Error(ErrorCode::ServiceUnavailable, "the database is busy; retry shortly");
    case SQLITE_NOMEM:
        return Error(ErrorCode::ServiceUnavailable, "the database is out of memory; retry shortly");
    case SQLITE_PROTOCOL: // another connection kept changing the WAL while this one tried to lock
        return Error(ErrorCode::ServiceUnavailable,
                     "the database's locks kept changing; retry shortly");
    case SQLITE_CONSTRAINT:
        if (e.getExtendedErrorCode() == SQLITE_CONSTRAINT_PRIMARYKEY ||
            e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE)
            return Error(ErrorCode::Conflict, "a record with this id already exists");
        break;
    default: break;
    }
    return Error(ErrorCode::InternalError, std::string("database: ") + e.what());
}

std::optional<std::string> optional_text(const SQLite::Column &column) {
    if (column.isNull())
        return std::nullopt;
    return column.getString();
}

json_t *text_or_null(const SQLite::Column &column) {
    return column.isNull() ? json_null() : json_text(column.getString());
}

std::optional<long long> optional_int(const SQLite::Column &column) {
    if (column.isNull())
        return std::nullopt;
    return column.getInt64();
}

} // namespace tr
