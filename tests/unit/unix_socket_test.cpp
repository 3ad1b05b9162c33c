// core/unix_socket: one address builder that refuses a path sun_path cannot hold (the launcher
// used to truncate it silently), and the probe the launcher and the handlers use to ask whether
// a server listens on a socket: real sockets in a temporary directory.
#include "core/unix_socket.h"

#include "core/error.h"
#include "core/unique_fd.h"
#include "test_support.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace tr {
namespace {

using test::TempDir;

UniqueFd bound_socket(const std::string &path) {
    const sockaddr_un address = unix_socket_address(path);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address), 0)
        << std::strerror(errno);
    return fd;
}

TEST(UnixSocketAddress, HoldsThePathWhole) {
    const sockaddr_un address = unix_socket_address("/run/task-runner/fcgi.sock");
    EXPECT_EQ(address.sun_family, AF_UNIX);
    EXPECT_STREQ(address.sun_path, "/run/task-runner/fcgi.sock");
    const std::string longest(sizeof address.sun_path - 1, 'x');
    EXPECT_STREQ(unix_socket_address(longest).sun_path, longest.c_str());
}

// Regression: the launcher copied the path with strncpy, so a long run directory made it probe
// a different (truncated) path and wait for a socket that could never appear there.
TEST(UnixSocketAddress, RefusesAPathThatDoesNotFitInsteadOfTruncatingIt) {
    const std::string too_long(sizeof(sockaddr_un{}.sun_path), 'x');
    try {
        unix_socket_address(too_long);
        FAIL() << "a path of " << too_long.size() << " bytes was accepted";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("too long"), std::string::npos) << e.what();
    }
    EXPECT_THROW(unix_socket_accepts(too_long), Error);
    EXPECT_THROW(unix_socket_address(""), Error);
}

TEST(UnixSocketAccepts, IsTrueWhileAServerListens) {
    TempDir dir;
    const std::string path = dir / "server.sock";
    const UniqueFd server = bound_socket(path);
    ASSERT_EQ(::listen(server.get(), 4), 0);
    EXPECT_TRUE(unix_socket_accepts(path));
}

TEST(UnixSocketAccepts, IsFalseForAMissingPathAStaleSocketAndAPlainFile) {
    TempDir dir;
    EXPECT_FALSE(unix_socket_accepts(dir / "missing.sock"));
    {
        const UniqueFd stale = bound_socket(dir / "stale.sock"); // bound, never listening
    }
    EXPECT_FALSE(unix_socket_accepts(dir / "stale.sock")); // the file a crashed server leaves
    EXPECT_FALSE(unix_socket_accepts(dir.write("plain.txt", "not a socket")));
}

} // namespace
} // namespace tr
