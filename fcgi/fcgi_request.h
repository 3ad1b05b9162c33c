// One FastCGI request slot of a worker thread (libfcgi's FCGX_Request), reused request after
// request. Owned: the connection is finished and the memory freed in the destructor.
#pragma once

#include <fcgiapp.h>

#include <cstddef>
#include <string_view>

namespace tr::fcgi {

class FcgiRequest {
public:
    explicit FcgiRequest(int listen_fd);
    FcgiRequest(const FcgiRequest &) = delete;
    FcgiRequest &operator=(const FcgiRequest &) = delete;
    ~FcgiRequest();

    // Finishes the previous request and waits for the next; false once the server shuts down
    // (the listening socket was shut down) or accepting fails for good.
    bool accept();

    char **params() const; // "NAME=value" entries, valid until the next accept()
    std::size_t read(char *buffer, std::size_t size);
    void write(std::string_view bytes);
    // Writes and flushes at once (a streamed response); false when the client has gone.
    bool write_now(std::string_view bytes);

private:
    FCGX_Request request_{};
};

} // namespace tr::fcgi
