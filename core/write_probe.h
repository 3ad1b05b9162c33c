// Whether the database can be written now, known before a write fails: GET /health answers 503
// with the reason while it cannot. Two checks, because neither alone sees every case:
//
//  - room on the database's filesystem: a megabyte reserved (fallocate) in an unnamed file in
//    its directory, and given back at once. A committed transaction alone does not show a full
//    disk: after a checkpoint SQLite writes new transactions over the WAL's old frames, so on a
//    full tmpfs (0 bytes free) with 2 MB of WAL a one-row update commits again and again, and
//    so does a 400 KB transaction, until the WAL has to grow (write_probe_test.cpp measures it).
//  - one committed write, to the write_probe row: a database opened read-only, an I/O error, a
//    WAL that cannot grow. Always the same row, so probing never grows the database.
#pragma once

#include "core/db.h"
#include "core/error.h"
#include "core/time.h"

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

namespace tr {

// What the reservation holds: more than a group commit of ordinary tasks writes, so a disk
// that passes can take the next submissions; small enough to be nothing on a real disk.
constexpr long long write_probe_reserve_bytes = 1 << 20;

// Both checks, uncached: nullopt when the database can be written now, else the error a write
// would get (write_failure_error's, or busy); an error that is not a state of the database (the
// write_probe table missing) comes back as InternalError, whose message is for the log only.
std::optional<Error> probe_writes(Db &db, TimePoint now);

// probe_writes at most once per `max_age` for all of a process's threads: the others get the
// last answer, so /health stays cheap under load. Thread-safe.
class WriteProbe {
public:
    explicit WriteProbe(std::chrono::milliseconds max_age = std::chrono::seconds(1))
        : max_age_(max_age) {}
    WriteProbe(const WriteProbe &) = delete;
    WriteProbe &operator=(const WriteProbe &) = delete;

    // `db`: the caller's connection, used only when this call probes; `write_gate`: the
    // process's writer mutex, held while the probe writes.
    std::optional<Error> check(Db &db, std::mutex &write_gate);

private:
    const std::chrono::milliseconds max_age_;
    std::mutex mutex_;
    std::optional<SteadyClock::time_point> probed_at_;
    std::optional<Error> last_;
};

} // namespace tr
