// libfcgi's reentrant request API, wrapped.
#include "fcgi/fcgi_request.h"

#include <climits>

namespace tr::fcgi {

FcgiRequest::FcgiRequest(int listen_fd) {
    FCGX_InitRequest(&request_, listen_fd, 0);
}

FcgiRequest::~FcgiRequest() {
    FCGX_Finish_r(&request_);
    FCGX_Free(&request_, 1);
}

bool FcgiRequest::accept() {
    return FCGX_Accept_r(&request_) == 0;
}

char **FcgiRequest::params() const {
    return request_.envp;
}

std::size_t FcgiRequest::read(char *buffer, std::size_t size) {
    const int chunk = size > INT_MAX ? INT_MAX : static_cast<int>(size);
    const int n = FCGX_GetStr(buffer, chunk, request_.in);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
}

void FcgiRequest::write(std::string_view bytes) {
    // A client that went away makes this fail (EPIPE, SIGPIPE is ignored by libfcgi); the
    // request is over either way, so the result is deliberately not checked.
    FCGX_PutStr(bytes.data(), static_cast<int>(bytes.size()), request_.out);
}

} // namespace tr::fcgi

namespace tr::fcgi {

bool FcgiRequest::write_now(std::string_view bytes) {
    if (FCGX_PutStr(bytes.data(), static_cast<int>(bytes.size()), request_.out) < 0)
        return false;
    return FCGX_FFlush(request_.out) == 0 && !FCGX_GetError(request_.out);
}

} // namespace tr::fcgi
