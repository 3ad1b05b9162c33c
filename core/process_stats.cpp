// /proc/self/stat (utime, stime) and /proc/self/statm (resident pages).
#include "core/process_stats.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace tr {
namespace {

long long cpu_ticks() {
    std::ifstream file("/proc/self/stat");
    std::string line;
    std::getline(file, line);
    const std::size_t close = line.rfind(')'); // the command name may hold spaces
    if (close == std::string::npos)
        return 0;
    std::istringstream fields(line.substr(close + 2));
    std::string field;
    long long utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) { // fields are numbered from 1; state is field 3
        if (i == 14)
            utime = std::stoll(field);
        if (i == 15) {
            stime = std::stoll(field);
            break;
        }
    }
    return utime + stime;
}

double resident_mb() {
    std::ifstream file("/proc/self/statm");
    long long size = 0, resident = 0;
    file >> size >> resident;
    return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) /
           (1024.0 * 1024.0);
}

} // namespace

ProcessStats::ProcessStats()
    : last_ticks_(cpu_ticks()), last_time_(std::chrono::steady_clock::now()) {
    memory_mb_ = resident_mb();
}

void ProcessStats::sample() {
    const long long ticks = cpu_ticks();
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_time_).count();
    memory_mb_ = resident_mb();
    // Ticks are 10 ms: over a shorter window one tick would read as a burst of 100% or more.
    if (seconds < 0.5)
        return;
    cpu_percent_ = static_cast<double>(ticks - last_ticks_) /
                   static_cast<double>(::sysconf(_SC_CLK_TCK)) / seconds * 100.0;
    last_ticks_ = ticks;
    last_time_ = now;
}

} // namespace tr
