// Opening connections, caching statements, translating SQLite errors.
#include "core/db.h"

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
    if (fd < 0)
        throw Error(ErrorCode::InternalError, system_error_text("open " + path, errno));
    ::close(fd);
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
    enable_wal(database_);
    database_.exec(durability == Durability::Full ? "PRAGMA synchronous=FULL"
                                                  : "PRAGMA synchronous=NORMAL");
    database_.exec("PRAGMA foreign_keys=ON");
}

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

Error database_error(const SQLite::Exception &e) {
    switch (e.getErrorCode()) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return Error(ErrorCode::ServiceUnavailable, "the database is busy; retry shortly");
    case SQLITE_CONSTRAINT:
        if (e.getExtendedErrorCode() == SQLITE_CONSTRAINT_PRIMARYKEY ||
            e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE)
            return Error(ErrorCode::Conflict, "a record with this id already exists");
        break;
    default: break;
    }
    return Error(ErrorCode::InternalError, std::string("database: ") + e.what());
}

bool is_write_failure(const SQLite::Exception &e) {
    switch (e.getErrorCode()) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN: return true;
    default: return false;
    }
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
