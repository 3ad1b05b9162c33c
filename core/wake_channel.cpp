// The wake-up channel's directory, its listener and its sender (see wake_channel.h).
//
// Every address goes through /proc/self/fd/N/<file>, N the directory checked once by its
// descriptor: the path cannot be swapped for a link after the check, and it always fits
// sun_path, however deep the database lies.
#include "core/wake_channel.h"

#include "core/error.h"
#include "core/paths.h"
#include "core/unix_socket.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <memory>

namespace tr {
namespace {

// A listing read this soon after the directory's last change may have missed an entry made in
// the same tick of the (coarse) file timestamp clock: such a listing is read again next time.
constexpr long settle_nanoseconds = 50'000'000;

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

[[noreturn]] void refuse(const std::string &directory, const std::string &why) {
    throw Error(ErrorCode::InternalError, "wake channel: " + directory + " " + why);
}

// The directory, opened without following a link and checked: a directory of this user's that
// no other user may enter.
UniqueFd open_wake_directory(const std::string &path, bool create) {
    if (create && ::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
        throw Error(ErrorCode::InternalError,
                    "wake channel: " + system_error_text("mkdir " + path, errno));
    UniqueFd directory(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!directory.valid()) {
        const int error = errno;
        struct stat link {};
        if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode))
            refuse(path, "is a symbolic link; refusing it");
        if (error == ENOTDIR)
            refuse(path, "is not a directory; refusing it");
        throw Error(ErrorCode::InternalError,
                    "wake channel: " + system_error_text("open " + path, error));
    }
    struct stat info {};
    if (::fstat(directory.get(), &info) != 0)
        throw Error(ErrorCode::InternalError,
                    "wake channel: " + system_error_text("fstat " + path, errno));
    if (info.st_uid != ::geteuid())
        refuse(path, "belongs to uid " + std::to_string(info.st_uid) + ", not to uid " +
                         std::to_string(::geteuid()) + " (this process); refusing it");
    if ((info.st_mode & 077) != 0)
        refuse(path, "has mode " + octal_mode(info.st_mode) +
                         ": other users may enter it; it must be 0700");
    return directory;
}

// `file` in the directory open as `directory`, as an address that fits sun_path.
sockaddr_un address_in(const UniqueFd &directory, const std::string &file) {
    return unix_socket_address("/proc/self/fd/" + std::to_string(directory.get()) + "/" + file);
}

UniqueFd datagram_socket() {
    UniqueFd socket(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!socket.valid())
        throw Error(ErrorCode::InternalError,
                    "wake channel: " + system_error_text("socket(AF_UNIX, SOCK_DGRAM)", errno));
    return socket;
}

// Removes `file` if it is still the socket `inode`: never another runner's newer one.
void unlink_if_same(const UniqueFd &directory, const std::string &file, ino_t inode) {
    struct stat info {};
    if (::fstatat(directory.get(), file.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISSOCK(info.st_mode) && info.st_ino == inode)
        ::unlinkat(directory.get(), file.c_str(), 0); // gone meanwhile is as good
}

bool same_state(const struct stat &a, const struct stat &b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
           a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
           a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

// Whether the wall clock is well past `changed` (a file timestamp).
bool long_after(const timespec &changed) {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    const long long elapsed =
        (static_cast<long long>(now.tv_sec) - changed.tv_sec) * 1'000'000'000LL +
        (now.tv_nsec - changed.tv_nsec);
    return elapsed > settle_nanoseconds;
}

bool is_socket_name(const std::string &name) {
    const std::string suffix = ".sock";
    return name.size() > suffix.size() && name.front() != '.' &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

std::string wake_directory(const std::string &database) {
    const std::string absolute = absolute_path(database, current_directory());
    const std::string name = absolute.substr(absolute.rfind('/') + 1) + "-wake";
    const std::optional<std::string> directory = real_directory(parent_directory(absolute));
    return join_path(directory.value_or(parent_directory(absolute)), name);
}

WakeListener::WakeListener(const std::string &directory, const std::string &name)
    : directory_path_(directory), file_(name + ".sock") {
    if (name.empty() || name.front() == '.' || name.find('/') != std::string::npos)
        throw Error(ErrorCode::InternalError,
                    "wake channel: a socket name must be one path component not starting with "
                    "'.' (got \"" +
                        name + "\")");
    directory_ = open_wake_directory(directory, true);
    socket_ = datagram_socket();
    const sockaddr_un address = address_in(directory_, file_);
    if (::bind(socket_.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0)
        throw Error(ErrorCode::InternalError,
                    "wake channel: " + system_error_text("bind " + path(), errno));
    struct stat bound {};
    if (::fstatat(directory_.get(), file_.c_str(), &bound, AT_SYMLINK_NOFOLLOW) == 0)
        inode_ = bound.st_ino;
}

WakeListener::~WakeListener() {
    if (socket_.valid() && directory_.valid())
        unlink_if_same(directory_, file_, inode_);
}

bool WakeListener::drain() noexcept {
    bool any = false;
    char bytes[64];
    while (::recv(socket_.get(), bytes, sizeof bytes, MSG_DONTWAIT) >= 0)
        any = true;
    return any;
}

std::string WakeListener::path() const {
    return join_path(directory_path_, file_);
}

RunnerWaker::RunnerWaker(std::string directory, const Log &log)
    : directory_path_(std::move(directory)), log_(log) {}

int RunnerWaker::reached() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return reached_;
}

void RunnerWaker::wake() noexcept {
    std::lock_guard<std::mutex> guard(mutex_);
    reached_ = 0;
    try {
        refresh();
    } catch (const std::exception &e) {
        // Turned into a value: the runners still poll. Said once, not at every commit. A
        // refused directory is not looked at again before it changes; anything else (out of
        // descriptors, say) is tried again at the next wake.
        if (last_logged_ != e.what())
            log_.warn("wake.refused",
                      {{"error", e.what()}, {"action", "runners are not woken; they poll"}});
        last_logged_ = e.what();
        return;
    }
    const char byte = 'w';
    for (auto target = targets_.begin(); target != targets_.end();) {
        if (::send(target->second.socket.get(), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1 ||
            errno == EAGAIN || errno == EWOULDBLOCK) { // a full queue: woken already
            ++reached_;
            ++target;
            continue;
        }
        // ECONNREFUSED: nobody reads that socket any more, its runner is gone. Anything else:
        // dropped here, found again at the next listing.
        if (errno == ECONNREFUSED)
            unlink_if_same(directory_, target->first, target->second.inode);
        target = targets_.erase(target);
        settled_ = false;
    }
}

void RunnerWaker::refresh() {
    struct stat now {};
    if (::lstat(directory_path_.c_str(), &now) != 0) {
        // No runner has made the directory (or it went away): nobody to wake.
        directory_.reset();
        targets_.clear();
        seen_ = {};
        settled_ = false;
        return;
    }
    const bool unchanged = same_state(now, seen_);
    if (unchanged && !refused_.empty())
        throw Error(ErrorCode::InternalError, refused_); // as before, until the directory changes
    if (unchanged && settled_ && directory_.valid())
        return;
    seen_ = now;
    try {
        reopen(now);
    } catch (const std::exception &e) {
        refused_ = e.what();
        throw;
    }
    refused_.clear();
    settled_ = false; // until a listing went through: one that throws is made again next time
    const bool complete = list_targets();
    last_logged_.clear();
    settled_ = complete && long_after(now.st_mtim);
}

void RunnerWaker::reopen(const struct stat &seen) {
    if (directory_.valid()) {
        struct stat open {};
        if (::fstat(directory_.get(), &open) == 0 && open.st_dev == seen.st_dev &&
            open.st_ino == seen.st_ino)
            return; // the same directory, changed inside: listed again, not reopened
    }
    directory_.reset();
    targets_.clear();
    directory_ = open_wake_directory(directory_path_, false);
}

bool RunnerWaker::list_targets() {
    UniqueFd listing(::openat(directory_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!listing.valid())
        throw Error(ErrorCode::InternalError,
                    "wake channel: " + system_error_text("open " + directory_path_, errno));
    const std::unique_ptr<DIR, int (*)(DIR *)> entries(::fdopendir(listing.get()), ::closedir);
    if (!entries)
        throw Error(ErrorCode::InternalError,
                    "wake channel: " + system_error_text("fdopendir " + directory_path_, errno));
    listing.release(); // closedir closes it now
    std::map<std::string, Target> found;
    bool complete = true;
    while (const dirent *entry = ::readdir(entries.get())) {
        const std::string file = entry->d_name;
        struct stat info {};
        if (!is_socket_name(file) ||
            ::fstatat(directory_.get(), file.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISSOCK(info.st_mode))
            continue;
        if (const auto known = targets_.find(file);
            known != targets_.end() && known->second.inode == info.st_ino) {
            found.emplace(file, std::move(known->second));
            continue;
        }
        try { // one entry that cannot be reached leaves the others of the listing alone
            Target target{datagram_socket(), info.st_ino};
            const sockaddr_un address = address_in(directory_, file);
            if (::connect(target.socket.get(), reinterpret_cast<const sockaddr *>(&address),
                          sizeof address) == 0)
                found.emplace(file, std::move(target));
            else if (errno == ECONNREFUSED)
                unlink_if_same(directory_, file, info.st_ino); // a dead runner's
            // Anything else (gone meanwhile, not ours to write to): left alone.
        } catch (const std::exception &) {
            complete = false; // out of descriptors, a name too long: tried again next time
        }
    }
    targets_ = std::move(found);
    return complete;
}

} // namespace tr
