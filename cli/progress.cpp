// Rendering task events.
#include "cli/progress.h"

#include "cli/terminal_text.h"
#include "core/json.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace tr::cli {
namespace {

constexpr const char spinner_frames[] = {'|', '/', '-', '\\'};
constexpr std::chrono::milliseconds frame_interval{100};

// Every field is the server's (a model's description, a command's error): shown on one line,
// controls made visible, so none of them moves the cursor or reaches the terminal.
std::string text_of(const json_t *object, const char *key, std::size_t limit = 120) {
    return terminal_text(json_string_member(object, key).value_or(""), Lines::Join, limit);
}

std::string step_label(const json_t *step) {
    std::string label = "step " +
                        std::to_string(json_integer_value(json_object_get(step, "step_number"))) +
                        " " + text_of(step, "step_type");
    if (const std::string tool = text_of(step, "tool"); !tool.empty())
        label += " " + tool;
    if (const std::string description = text_of(step, "description"); !description.empty())
        label += ": " + description;
    return label;
}

std::string plan_line(const json_t *plan) {
    std::string line = "plan: " + text_of(plan, "understanding", 200);
    const std::string complexity = text_of(plan, "complexity");
    const json_t *steps = json_object_get(plan, "estimated_steps");
    if (!complexity.empty() || json_is_integer(steps)) {
        line += " (" + complexity;
        if (json_is_integer(steps))
            line += std::string(complexity.empty() ? "" : ", ") + "~" +
                    std::to_string(json_integer_value(steps)) +
                    (json_integer_value(steps) == 1 ? " step" : " steps");
        line += ")";
    }
    if (const std::string approach = text_of(plan, "approach", 200); !approach.empty())
        line += "\n  approach: " + approach;
    return line;
}

std::string step_end_line(const json_t *step) {
    const std::string status = text_of(step, "status");
    std::string line = (status == "completed" ? "done " : status + " ") + step_label(step);
    if (const json_t *ms = json_object_get(step, "execution_time_ms"); json_is_integer(ms))
        line += " (" + std::to_string(json_integer_value(ms)) + " ms)";
    if (const std::string error = text_of(step, "error", 300); !error.empty())
        line += ": " + error;
    return line;
}

} // namespace

bool is_live_terminal(int fd) {
    if (!::isatty(fd))
        return false;
    const char *term = std::getenv("TERM");
    return !term || std::strcmp(term, "dumb") != 0;
}

Progress::Progress(std::FILE *out, bool live) : out_(out), live_(live) {
    if (live_)
        spinner_ = std::thread([this] { spin(); });
}

Progress::~Progress() {
    finish();
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (spinner_.joinable())
        spinner_.join();
}

void Progress::print_line(const std::string &line) {
    if (live_ && !running_.empty())
        std::fputs("\r\x1b[K", out_); // erase the spinner line, reprinted below
    std::fprintf(out_, "%s\n", line.c_str());
    if (live_ && !running_.empty())
        draw_spinner();
    std::fflush(out_);
}

void Progress::draw_spinner() {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - running_since_).count();
    std::fprintf(out_, "\r\x1b[K%c %s  %.1fs", spinner_frames[frame_ % sizeof spinner_frames],
                 running_.c_str(), seconds);
    std::fflush(out_);
}

void Progress::spin() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, frame_interval);
        if (!stopping_ && !running_.empty()) {
            ++frame_;
            draw_spinner();
        }
    }
}

void Progress::show(const std::string &task_id, const task_runner::TaskEvent &event) {
    const JsonPtr data(json_loads(event.data_json.c_str(), 0, nullptr));
    const std::lock_guard<std::mutex> lock(mutex_);
    if (event.kind == "plan") {
        print_line(plan_line(data.get()));
    } else if (event.kind == "status") {
        const std::string status = text_of(data.get(), "status");
        if (status == "queued" || status == "running")
            print_line("task " + terminal_text(task_id) + ": " + status);
    } else if (event.kind == "step") {
        const std::string status = text_of(data.get(), "status");
        if (status == "running") {
            if (live_) {
                running_ = step_label(data.get());
                running_since_ = std::chrono::steady_clock::now();
                draw_spinner();
            } else {
                print_line("start " + step_label(data.get()));
            }
            return;
        }
        const bool was_running = !running_.empty();
        running_.clear();
        if (live_ && was_running)
            std::fputs("\r\x1b[K", out_);
        print_line(step_end_line(data.get()));
    }
}

void Progress::finish() {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (live_ && !running_.empty()) {
        std::fputs("\r\x1b[K", out_);
        std::fflush(out_);
    }
    running_.clear();
}

} // namespace tr::cli
