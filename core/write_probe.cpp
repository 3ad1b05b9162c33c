// The write probe: room on the database's disk, then one committed write.
#include "core/write_probe.h"

#include "core/paths.h"
#include "core/random.h"
#include "core/unique_fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace tr {
namespace {

// An open file in `directory` that has no name, so nothing is left behind, whatever happens.
// Filesystems without O_TMPFILE get a named file, removed before it is used.
UniqueFd unnamed_file(const std::string &directory) {
    UniqueFd file(::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (file.valid() || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return file;
    const std::string path = directory + "/.write-probe-" + random_hex(8);
    file.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (file.valid())
        ::unlink(path.c_str());
    return file;
}

// 0 when `bytes` could be reserved on the filesystem of `directory`, else the errno. The space
// is given back when the file is closed.
int reserve_space(const std::string &directory, long long bytes) {
    const UniqueFd file = unnamed_file(directory);
    if (!file.valid())
        return errno;
    int result;
    do // posix_fallocate returns the error number instead of setting errno
        result = ::posix_fallocate(file.get(), 0, static_cast<off_t>(bytes));
    while (result == EINTR);
    return result;
}

std::optional<Error> space_error(int error_number) {
    switch (error_number) {
    case 0: return std::nullopt;
    case ENOSPC:
    case EDQUOT: return write_failure_error(WriteFailure::DiskFull);
    case EROFS: return write_failure_error(WriteFailure::ReadOnly);
    case EIO: return write_failure_error(WriteFailure::IoError);
    default:
        return Error(ErrorCode::ServiceUnavailable,
                     system_error_text("the database's directory cannot be written", error_number),
                     write_failure_retry);
    }
}

} // namespace

std::optional<Error> probe_writes(Db &db, TimePoint now) {
    if (std::optional<Error> full = space_error(
            reserve_space(parent_directory(absolute_path(db.path(), current_directory())),
                          write_probe_reserve_bytes)))
        return full;
    try {
        Query probe = db.query("INSERT INTO write_probe (id, probed_at) VALUES (1, ?) "
                               "ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at");
        probe->bind(1, format_utc(now));
        probe->exec();
    } catch (const SQLite::Exception &e) {
        const Error error = database_error(e);
        if (error.code() == ErrorCode::ServiceUnavailable)
            return error;
        return Error(ErrorCode::InternalError, std::string("write probe: ") + e.what());
    }
    return std::nullopt;
}

std::optional<Error> WriteProbe::check(Db &db, std::mutex &write_gate) {
    std::lock_guard<std::mutex> guard(mutex_);
    if (probed_at_ && SteadyClock::now() - *probed_at_ < max_age_)
        return last_;
    {
        std::lock_guard<std::mutex> writer(write_gate);
        last_ = probe_writes(db, Clock::now());
    }
    probed_at_ = SteadyClock::now();
    return last_;
}

} // namespace tr
