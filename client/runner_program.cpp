// Finding task-runner-runner from where this code was loaded (dladdr), so an installed library
// finds the installed runner and a build tree's its own, wherever either was moved.
#include "client/runner_program.h"

#include "core/paths.h"

#include <task_runner/error.h>

#include <dlfcn.h>
#include <unistd.h>

#include <vector>

namespace tr::client {
namespace {

constexpr const char *program_name = "task-runner-runner";

// The file this function's code was loaded from: the shared library, or the program itself.
std::string own_image() {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void *>(&own_image), &info) == 0 || !info.dli_fname)
        return "";
    return info.dli_fname;
}

} // namespace

std::string find_runner_program() {
    const std::string image = own_image();
    std::vector<std::string> candidates;
    if (!image.empty()) {
        const std::string directory = parent_directory(absolute_path(image, current_directory()));
        candidates.push_back(
            absolute_path(std::string(TR_CLIENT_LIB_TO_BIN) + "/" + program_name, directory));
        candidates.push_back(absolute_path(std::string("../bin/") + program_name, directory));
        candidates.push_back(join_path(directory, program_name));
    }
    candidates.push_back(join_path(TR_CLIENT_INSTALL_BINDIR, program_name));
    for (const std::string &candidate : candidates)
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    std::string looked;
    for (const std::string &candidate : candidates)
        looked += (looked.empty() ? "" : ", ") + candidate;
    throw task_runner::Error(std::string("the in-process client needs ") + program_name +
                             " (its runner's watchdog) and found none at " + looked);
}

} // namespace tr::client
