// A tiny HTTP/1.1 server on a free loopback port, for the client library's tests: it answers
// each request with whatever the test's handler writes, byte for byte, so a test can play a
// hostile or broken server (garbage, wrong types, a stream that drops) against the real
// libcurl client. Requests on one connection are served in order (keep-alive); connections one
// at a time. Records every request and counts connections.
#pragma once

#include "core/unique_fd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tr::test {

struct RecordedRequest {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers; // names lower-case
    std::string body;

    std::string header(const std::string &name) const {
        const auto found = headers.find(name);
        return found == headers.end() ? "" : found->second;
    }
};

class LoopbackHttpServer {
public:
    // Writes to the client; false when it has gone.
    using Send = std::function<bool(const std::string &bytes)>;
    // Answers request number `index` (0-based, over all connections); returns whether to keep
    // the connection open for the next request.
    using Handler =
        std::function<bool(const RecordedRequest &request, int index, const Send &send)>;

    explicit LoopbackHttpServer(Handler handler) : handler_(std::move(handler)) {
        listen_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (::bind(listen_.get(), reinterpret_cast<sockaddr *>(&address), sizeof address) != 0 ||
            ::listen(listen_.get(), 16) != 0 ||
            ::getsockname(listen_.get(), reinterpret_cast<sockaddr *>(&address), &length) != 0)
            throw std::runtime_error("loopback server: bind/listen failed");
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    LoopbackHttpServer(const LoopbackHttpServer &) = delete;
    LoopbackHttpServer &operator=(const LoopbackHttpServer &) = delete;
    ~LoopbackHttpServer() {
        stopping_ = true;
        thread_.join();
    }

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    bool stopping() const { return stopping_; }
    int connections() const { return connections_; }
    std::vector<RecordedRequest> requests() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return requests_;
    }

    // A complete response with a body and Content-Length.
    static std::string response(int status, const std::string &body,
                                const std::string &content_type = "application/json") {
        return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
               "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }

private:
    // Waits for input on `fd` in short slices, so the destructor's stop is seen; false then.
    bool readable(int fd) const {
        pollfd p{fd, POLLIN, 0};
        while (!stopping_)
            if (::poll(&p, 1, 20) > 0)
                return true;
        return false;
    }

    void serve() {
        while (readable(listen_.get())) {
            UniqueFd connection(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!connection.valid())
                continue;
            ++connections_;
            serve_connection(connection.get());
        }
    }

    void serve_connection(int fd) {
        std::string buffer;
        for (;;) {
            RecordedRequest request;
            if (!read_request(fd, buffer, request))
                return;
            int index = 0;
            {
                const std::lock_guard<std::mutex> lock(mutex_);
                index = static_cast<int>(requests_.size());
                requests_.push_back(request);
            }
            const Send send = [fd](const std::string &bytes) {
                return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                       static_cast<ssize_t>(bytes.size());
            };
            if (!handler_(request, index, send))
                return;
        }
    }

    bool read_request(int fd, std::string &buffer, RecordedRequest &request) const {
        std::size_t end;
        while ((end = buffer.find("\r\n\r\n")) == std::string::npos)
            if (!read_more(fd, buffer))
                return false;
        const std::string head = buffer.substr(0, end);
        buffer.erase(0, end + 4);
        std::size_t line_end = head.find("\r\n");
        const std::string first = head.substr(0, line_end);
        request.method = first.substr(0, first.find(' '));
        request.target = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
        while (line_end != std::string::npos && line_end < head.size()) {
            const std::size_t next = head.find("\r\n", line_end + 2);
            const std::string line = head.substr(line_end + 2, next - line_end - 2);
            const std::size_t colon = line.find(':');
            std::string name = line.substr(0, colon);
            for (char &c : name)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            request.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
            line_end = next;
        }
        const std::size_t length = std::stoul(
            request.header("content-length").empty() ? "0" : request.header("content-length"));
        while (buffer.size() < length)
            if (!read_more(fd, buffer))
                return false;
        request.body = buffer.substr(0, length);
        buffer.erase(0, length);
        return true;
    }

    bool read_more(int fd, std::string &buffer) const {
        char chunk[4096];
        if (!readable(fd))
            return false;
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0)
            return false;
        buffer.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    Handler handler_;
    UniqueFd listen_;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0};
    mutable std::mutex mutex_;
    std::vector<RecordedRequest> requests_;
    std::thread thread_;
};

} // namespace tr::test
