// Online backup with SQLite's backup API, and restore behind the database's own in-use lock.
#include "core/backup.h"

#include "core/error.h"
#include "core/migrate.h"
#include "core/paths.h"
#include "core/time.h"
#include "core/unique_fd.h"

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>
#include <thread>
#include <vector>

namespace tr {
namespace {

// A file made beside its destination (so that the final rename stays on one filesystem),
// removed with its journal when the owner goes away unless kept.
class TemporaryFile {
public:
    TemporaryFile(const std::string &destination, const char *purpose) {
        const std::string directory = parent_directory(destination);
        std::string pattern = directory + "/." + base_name(destination) + "." + purpose + "-XXXXXX";
        const int fd = ::mkstemp(pattern.data()); // 0600: a copy holds key hashes and secrets
        if (fd < 0)
            throw Error(ErrorCode::InternalError, system_error_text("mkstemp " + pattern, errno));
        ::close(fd);
        path_ = pattern;
    }
    TemporaryFile(const TemporaryFile &) = delete;
    TemporaryFile &operator=(const TemporaryFile &) = delete;
    ~TemporaryFile() {
        if (path_.empty())
            return;
        ::unlink(path_.c_str()); // cleanup of our own temporary: nothing to report if gone
        ::unlink((path_ + "-journal").c_str());
    }

    const std::string &path() const noexcept { return path_; }
    void keep() noexcept { path_.clear(); }

private:
    static std::string base_name(const std::string &path) {
        const std::size_t slash = path.rfind('/');
        return slash == std::string::npos ? path : path.substr(slash + 1);
    }

    std::string path_;
};

void sync_path(const std::string &path, int flags) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd.valid() || ::fsync(fd.get()) != 0)
        throw Error(ErrorCode::InternalError, system_error_text("fsync " + path, errno));
}

void rename_file(const std::string &from, const std::string &to, bool overwrite) {
    const unsigned flags = overwrite ? 0 : RENAME_NOREPLACE;
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0)
        return;
    if (errno == EEXIST)
        throw Error(ErrorCode::Conflict, to + " exists; pass --force to overwrite it");
    throw Error(ErrorCode::InternalError, system_error_text("rename " + from + " to " + to, errno));
}

// A file from elsewhere is data: no statement may corrupt it on purpose (SQLite's "defense
// against the dark arts"). Its schema is compared with ours before anything of it runs
// (check_restorable); trusted_schema=OFF would refuse our own CHECK constraints, json_valid()
// not being marked innocuous.
void distrust_schema(SQLite::Database &database) {
    sqlite3_db_config(database.getHandle(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
}

// The first problems integrity_check finds, or "ok".
std::string integrity_of(SQLite::Database &database) {
    SQLite::Statement check(database, "PRAGMA integrity_check(10)");
    std::string problems;
    while (check.executeStep())
        problems += (problems.empty() ? "" : "; ") + check.getColumn(0).getString();
    return problems;
}

long long count_tasks(SQLite::Database &database) {
    SQLite::Statement count(database, "SELECT count(*) FROM tasks");
    return count.executeStep() ? count.getColumn(0).getInt64() : 0;
}

long long file_size(const std::string &path) {
    struct stat file {};
    return ::stat(path.c_str(), &file) == 0 ? static_cast<long long>(file.st_size) : 0;
}

// One step: the whole copy in one read transaction (why not small steps: core/backup.h). A step
// answers BUSY only while another connection recovers the WAL, which is brief.
void copy_all_pages(SQLite::Backup &backup) {
    const SteadyClock::time_point deadline = SteadyClock::now() + std::chrono::seconds(30);
    while (backup.executeStep(-1) != SQLITE_DONE) {
        if (SteadyClock::now() > deadline)
            throw Error(ErrorCode::ServiceUnavailable,
                        "the database stayed locked for 30 s; nothing was copied");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

// --force onto the database itself (or its -wal, or a hard link to either) would rename a copy
// over a file the stack has open: its connections write on into the old inode, and the WAL left
// beside the new file would be applied to it. lstat: a symlink named FILE is what the rename
// replaces, not what it points to, so a symlink to the database is no danger.
void refuse_database_files(const std::string &database, const std::string &target) {
    struct stat replaced {};
    if (::lstat(target.c_str(), &replaced) != 0)
        return; // nothing there to replace
    for (const char *suffix : {"", "-wal", "-shm", "-journal"}) {
        const std::string file = database + suffix;
        struct stat live {};
        if (::stat(file.c_str(), &live) != 0 || live.st_dev != replaced.st_dev ||
            live.st_ino != replaced.st_ino)
            continue;
        std::string message = target;
        message += " is the database's own file (";
        message += file;
        message += "): back up to another file";
        throw Error(ErrorCode::InvalidRequest, message);
    }
}

} // namespace

BackupReport back_up_database(const std::string &database, const std::string &target,
                              bool overwrite) {
    if (!path_exists(database))
        throw Error(ErrorCode::InvalidRequest, "no database at " + database);
    refuse_database_files(database, target);
    if (!overwrite && path_exists(target))
        throw Error(ErrorCode::Conflict, target + " exists; pass --force to overwrite it");
    TemporaryFile copy(target, "partial");
    BackupReport report;
    {
        SQLite::Database source(database, SQLite::OPEN_READONLY, 5000);
        SQLite::Database destination(copy.path(), SQLite::OPEN_READWRITE);
        const SteadyClock::time_point started = SteadyClock::now();
        SQLite::Backup backup(destination, source);
        // One step: the whole copy in one read transaction (why not small steps: core/backup.h).
        copy_all_pages(backup);
        report.seconds = static_cast<double>(elapsed_ms(started)) / 1000.0;
        report.pages = backup.getTotalPageCount();
        destination.exec("PRAGMA journal_mode=DELETE"); // a single file, no -wal beside it
        const std::string integrity = integrity_of(destination);
        if (integrity != "ok")
            throw Error(ErrorCode::InternalError,
                        "the copy failed its integrity check: " + integrity);
        report.tasks = count_tasks(destination);
        report.schema_version = schema_version(destination);
    }
    sync_path(copy.path(), O_RDONLY);
    rename_file(copy.path(), target, overwrite);
    copy.keep();
    sync_path(parent_directory(target), O_RDONLY | O_DIRECTORY);
    report.bytes = file_size(target);
    return report;
}

namespace {

// Where unix VFS connections to a WAL database hold their read lock for as long as they are
// open (sqlite3 src/os_unix.c: UNIX_SHM_DMS, the byte after the 8 WAL locks at 120).
constexpr off_t shm_dms_offset = 128;

// Takes the write lock on that byte, so nobody else has the database open while it is held;
// an invalid descriptor when there is no -shm file (then no connection is open either: the
// last one to close removes it). Throws Error(Conflict) when another process holds it.
UniqueFd lock_out_connections(const std::string &database) {
    const std::string shm = database + "-shm";
    UniqueFd fd(::open(shm.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) {
        if (errno == ENOENT)
            return fd;
        throw Error(ErrorCode::InternalError, system_error_text("open " + shm, errno));
    }
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = shm_dms_offset;
    lock.l_len = 1;
    if (::fcntl(fd.get(), F_SETLK, &lock) == 0)
        return fd;
    if (errno == EAGAIN || errno == EACCES)
        throw Error(ErrorCode::Conflict,
                    database + " is in use: a process has it open (a running stack: stop it "
                               "first; or a sqlite3 session)");
    throw Error(ErrorCode::InternalError, system_error_text("fcntl F_SETLK " + shm, errno));
}

// The schema as sqlite_schema has it, one line per object, the statistics of ANALYZE aside.
// Names starting "sqlite_" are compared too: SQLite refuses them in CREATE, but not in a row
// written with writable_schema, and loads such a row as any other (a trigger "sqlite_x" on
// tasks fires like one named "steal").
std::vector<std::string> schema_of(SQLite::Database &database) {
    SQLite::Statement select(database,
                             "SELECT type, name, coalesce(sql, '') FROM sqlite_schema WHERE NOT "
                             "(type = 'table' AND name IN ('sqlite_stat1', 'sqlite_stat4')) "
                             "ORDER BY type, name");
    std::vector<std::string> objects;
    while (select.executeStep())
        objects.push_back(select.getColumn(0).getString() + " " + select.getColumn(1).getString() +
                          " " + select.getColumn(2).getString());
    return objects;
}

// The migrations of this build that `copy` records; Error(InvalidRequest) when it records one
// this build does not have (a newer one, or another branch's).
std::vector<Migration> recorded_migrations(SQLite::Database &copy, const std::string &source) {
    const int version = schema_version(copy);
    const int newest = embedded_migrations().back().version;
    if (version > newest)
        throw Error(ErrorCode::InvalidRequest,
                    source + " has schema version " + std::to_string(version) +
                        ", newer than this build knows (" + std::to_string(newest) +
                        "); restore it with a newer build");
    std::set<int> recorded;
    SQLite::Statement versions(copy, "SELECT version FROM schema_migrations");
    while (versions.executeStep())
        recorded.insert(versions.getColumn(0).getInt());
    std::vector<Migration> same;
    for (const Migration &migration : embedded_migrations())
        if (recorded.count(migration.version))
            same.push_back(migration);
    if (same.size() != recorded.size())
        throw Error(ErrorCode::InvalidRequest,
                    source + " records a migration this build does not have");
    return same;
}

// What the copy must be before it replaces anything: exactly the schema this build's migrations
// make at the versions it records (no table, view or trigger of anyone else's, none newer than
// this build knows), checked first, as reading sqlite_schema runs nothing of the file; then a
// sound database (integrity_check, which also evaluates the CHECK constraints, ours by then).
void check_restorable(SQLite::Database &copy, const std::string &source) {
    if (!copy.tableExists("schema_migrations") || !copy.tableExists("tasks"))
        throw Error(ErrorCode::InvalidRequest, source + " is not a Task Runner database");
    SQLite::Database expected(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    migrate(expected, recorded_migrations(copy, source));
    if (schema_of(copy) != schema_of(expected))
        throw Error(ErrorCode::InvalidRequest,
                    source + "'s schema is not the one Task Runner makes (a table, index, view "
                             "or trigger differs)");
    const std::string integrity = integrity_of(copy);
    if (integrity != "ok")
        throw Error(ErrorCode::InvalidRequest, source + " fails its integrity check: " + integrity);
}

std::string replaced_name(const std::string &database) {
    std::string stamp = format_utc(Clock::now()); // 2026-12-01T22:43:47.123Z -> 20261201T224347Z
    std::string compact;
    for (const char c : stamp.substr(0, 19))
        if (c != '-' && c != ':')
            compact += c;
    return database + ".replaced-" + compact + "Z";
}

void rename_if_exists(const std::string &from, const std::string &to) {
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
        throw Error(ErrorCode::InternalError,
                    system_error_text("rename " + from + " to " + to, errno));
}

// The old database goes aside with its WAL, the WAL first: a crash between the two renames
// leaves the database without a WAL (as of its last checkpoint), never a WAL beside a database
// it does not belong to, which SQLite would apply to it. The -shm is only an index of the WAL.
std::string move_aside(const std::string &database) {
    if (!path_exists(database))
        return "";
    std::string aside = replaced_name(database);
    rename_if_exists(database + "-wal", aside + "-wal");
    rename_file(database, aside, false);
    if (::unlink((database + "-shm").c_str()) != 0 && errno != ENOENT)
        throw Error(ErrorCode::InternalError,
                    system_error_text("unlink " + database + "-shm", errno));
    return aside;
}

// The restored file gets the owner of the one it replaces: run as root for a service user.
void take_owner_of(const std::string &copy, const std::string &database) {
    struct stat old {};
    if (::geteuid() != 0 || ::stat(database.c_str(), &old) != 0)
        return;
    if (::chown(copy.c_str(), old.st_uid, old.st_gid) != 0)
        throw Error(ErrorCode::InternalError, system_error_text("chown " + copy, errno));
}

} // namespace

bool database_in_use(const std::string &database) {
    try {
        lock_out_connections(database);
        return false;
    } catch (const Error &e) {
        if (e.code() == ErrorCode::Conflict)
            return true; // the one expected answer, turned into a value
        throw;
    }
}

RestoreReport restore_database(const std::string &database, const std::string &source) {
    struct stat given {};
    if (::stat(source.c_str(), &given) != 0 || !S_ISREG(given.st_mode))
        throw Error(ErrorCode::InvalidRequest, source + " is not a file");
    lock_out_connections(database); // before the copy, to say so at once; taken again below
    TemporaryFile copy(database, "restore");
    RestoreReport report;
    try {
        SQLite::Database from(source, SQLite::OPEN_READONLY);
        distrust_schema(from);
        SQLite::Database to(copy.path(), SQLite::OPEN_READWRITE);
        SQLite::Backup backup(to, from);
        copy_all_pages(backup);
        to.exec("PRAGMA journal_mode=DELETE");
        distrust_schema(to);
        check_restorable(to, source);
        report.tasks = count_tasks(to);
        report.schema_version = schema_version(to);
    } catch (const SQLite::Exception &e) {
        // What the file is, turned into the caller's error; anything else (the disk) stays ours.
        const int code = e.getErrorCode() & 0xff;
        if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
            throw Error(ErrorCode::InvalidRequest,
                        source + " is not a sound SQLite database (" + e.what() + ")");
        throw;
    }
    sync_path(copy.path(), O_RDONLY);
    take_owner_of(copy.path(), database);
    const UniqueFd lock = lock_out_connections(database); // held until the new file is in place
    report.replaced_as = move_aside(database);
    rename_file(copy.path(), database, false);
    copy.keep();
    sync_path(parent_directory(database), O_RDONLY | O_DIRECTORY);
    return report;
}

} // namespace tr
