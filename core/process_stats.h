// This process's CPU and memory use, from /proc, for ai_agent_cpu_usage_percent and
// ai_agent_memory_usage_mb. CPU is measured between two samples.
#pragma once

#include <chrono>

namespace tr {

class ProcessStats {
public:
    ProcessStats();

    // CPU use since the previous sample at least half a second ago (or construction), in percent
    // of one core; and the resident memory now, in MiB.
    void sample();
    double cpu_percent() const noexcept { return cpu_percent_; }
    double memory_mb() const noexcept { return memory_mb_; }

private:
    long long last_ticks_ = 0;
    std::chrono::steady_clock::time_point last_time_;
    double cpu_percent_ = 0;
    double memory_mb_ = 0;
};

} // namespace tr
