// The local user's name from the passwd database.
#include "core/local_user.h"

#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace tr {

std::string local_user() noexcept {
    try {
        const uid_t uid = ::getuid(); // the real uid: who ran it, even through a set-uid wrapper
        std::string number = "uid " + std::to_string(uid);
        const long suggested = ::sysconf(_SC_GETPW_R_SIZE_MAX);
        std::vector<char> buffer(suggested > 0 ? static_cast<std::size_t>(suggested) : 16384);
        passwd entry{};
        passwd *found = nullptr;
        if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
            return number; // no entry (a container's bare uid) or no passwd database: the number
        return std::string(found->pw_name) + " (" + number + ")";
    } catch (...) { // out of memory: still an answer, the row must be written with its change
        return "unknown local user";
    }
}

} // namespace tr
