// Unix stream sockets by path: the handlers listen on one, and the launcher and the handlers
// themselves ask whether a server is already answering there. One place builds the address,
// so a path too long for sun_path is refused alike everywhere instead of truncated in one.
#pragma once

#include <sys/un.h>

#include <string>

namespace tr {

// The address of the socket at `path`. Throws Error(InternalError) when `path` is empty or
// does not fit sun_path (107 bytes on Linux): a truncated path would name another file.
sockaddr_un unix_socket_address(const std::string &path);

// Whether a server accepts connections on the socket at `path` now: a connect succeeds (the
// connection is closed at once). False for a missing path, a stale socket file nobody
// listens on, or anything that is not a socket. Throws as unix_socket_address does.
bool unix_socket_accepts(const std::string &path);

} // namespace tr
