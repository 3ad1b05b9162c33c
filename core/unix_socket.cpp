// Unix socket addresses and the "is anyone listening" probe (see unix_socket.h).
#include "core/unix_socket.h"

#include "core/error.h"
#include "core/unique_fd.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace tr {

sockaddr_un unix_socket_address(const std::string &path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty())
        throw Error(ErrorCode::InternalError, "a unix socket needs a path");
    if (path.size() >= sizeof address.sun_path)
        throw Error(ErrorCode::InternalError,
                    "unix socket path is too long (" + std::to_string(path.size()) + " bytes, " +
                        std::to_string(sizeof address.sun_path - 1) + " at most): " + path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return address;
}

bool unix_socket_accepts(const std::string &path) {
    const sockaddr_un address = unix_socket_address(path);
    const UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid())
        throw Error(ErrorCode::InternalError, system_error_text("socket", errno));
    return ::connect(fd.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0;
}

} // namespace tr
