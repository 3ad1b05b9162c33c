// The wake-up channel: how a process that has just queued a task tells the idle runners on this
// host at once, instead of leaving them to find it at their next poll.
//
// Every process using one database meets in the directory `<database>-wake/` beside it (as the
// -wal and -shm files are), whoever started it: each runner binds a unix datagram socket
// `<runner-id>.sock` there, and a sender writes one byte to each. A byte is only a hint ("look
// at the queue"); the runner still claims through the database, and still polls, so a lost or
// refused wake costs latency, never a task. The directory is the service user's alone (0700):
// one that is a symbolic link, belongs to another user or lets other users in is refused.
#pragma once

#include "core/log.h"
#include "core/unique_fd.h"

#include <sys/stat.h>

#include <map>
#include <mutex>
#include <string>

namespace tr {

// `<database>-wake`, the database's directory resolved as protected_paths resolves it (so the
// sandbox masks the same place): two configs naming the database through different links still
// meet in one directory.
std::string wake_directory(const std::string &database);

// One runner's end: a datagram socket `<directory>/<name>.sock`, made on construction and
// removed on destruction. Move-only; not thread-safe (one thread polls fd() and drains).
class WakeListener {
public:
    // Makes `directory` (mode 0700) unless it exists, checks it (see above) and binds the socket.
    // `name` is one path component (no '/', not starting with '.'). Throws Error(InternalError)
    // naming the directory and the check or call that failed, with errno's text.
    WakeListener(const std::string &directory, const std::string &name);
    WakeListener(WakeListener &&) noexcept = default;
    WakeListener &operator=(WakeListener &&) = delete;
    WakeListener(const WakeListener &) = delete;
    WakeListener &operator=(const WakeListener &) = delete;
    ~WakeListener(); // unlinks the socket, if the file there is still the one it bound

    // Readable (POLLIN) when a wake is pending.
    int fd() const noexcept { return socket_.get(); }
    // Empties every pending datagram without blocking; whether there was any.
    bool drain() noexcept;
    // Where the socket is, for messages and tests.
    std::string path() const;

private:
    std::string directory_path_;
    std::string file_; // "<name>.sock"
    UniqueFd directory_;
    UniqueFd socket_;
    ino_t inode_ = 0;
};

// The senders' end: wake() writes one byte to every runner's socket in the directory. Cheap
// enough to call after every commit: one lstat of the directory and one send(2) per runner on
// sockets connected once; the listing is read again only when the directory changes. Never
// blocks: a runner whose queue of wakes is full has been woken already. A socket nobody
// listens on any more (its runner was killed) is removed. Thread-safe.
class RunnerWaker {
public:
    // Does nothing yet: the directory is looked at on the first wake(). `log` must outlive it.
    RunnerWaker(std::string directory, const Log &log);
    RunnerWaker(const RunnerWaker &) = delete;
    RunnerWaker &operator=(const RunnerWaker &) = delete;

    // Never throws: a wake that cannot be sent leaves the runner to its poll. A directory that
    // is refused is logged once (event=wake.refused) until it changes.
    void wake() noexcept;

    // How many runners the last wake() reached: for tests.
    int reached() const;

private:
    struct Target {
        UniqueFd socket; // connected to the runner's socket
        ino_t inode = 0; // of the socket file it was connected to
    };

    void refresh();
    void reopen(const struct stat &seen);
    // False when an entry could not be reached and should be tried again.
    bool list_targets();

    const std::string directory_path_;
    const Log &log_;
    mutable std::mutex mutex_;
    UniqueFd directory_;
    struct stat seen_ {};     // the directory when it was last listed (lstat)
    bool settled_ = false;    // the last listing came well after the directory's last change
    std::string refused_;     // why the directory itself was refused, until it changes
    std::string last_logged_; // the last failure logged: each is said once, not at every commit
    std::map<std::string, Target> targets_; // by file name
    int reached_ = 0;
};

} // namespace tr
