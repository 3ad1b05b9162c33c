// One webhook attempt against a real loopback server: what is sent, a redirect that is not
// followed, a long answer cut off, a proxy from the environment ignored, and a name that libcurl
// resolves to an address the list does not admit refused before anything is sent.
#include "runner/webhook_post.h"

#include "loopback_http_server.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace tr::runner {
namespace {

using test::LoopbackHttpServer;
using test::RecordedRequest;

WebhooksConfig loopback_allowed() {
    WebhooksConfig config;
    config.allowed_hosts = {"127.0.0.1"};
    config.timeout_seconds = 5;
    config.max_response_bytes = 16;
    return config;
}

LoopbackHttpServer answering(const std::string &response) {
    return LoopbackHttpServer(
        [response](const RecordedRequest &, int, const LoopbackHttpServer::Send &send) {
            send(response);
            return false;
        });
}

std::string port_of(const LoopbackHttpServer &server) {
    const std::string url = server.url(); // http://127.0.0.1:PORT
    return url.substr(url.rfind(':') + 1);
}

std::string url_of(const LoopbackHttpServer &server, const std::string &host = "127.0.0.1") {
    return "http://" + host + ":" + port_of(server) + "/hook";
}

const std::atomic<bool> running{false};

TEST(PostWebhook, SendsTheBodyAndHeadersAndTakesA2xxAsDelivered) {
    const LoopbackHttpServer server = answering("HTTP/1.1 204 No Content\r\n\r\n");
    const PostOutcome outcome =
        post_webhook(url_of(server), R"({"task_id":"t"})",
                     {"Content-Type: application/json", "Task-Runner-Signature: t=1,v1=ab"},
                     loopback_allowed(), running);
    EXPECT_EQ(outcome.attempt.http_status, 204);
    EXPECT_FALSE(outcome.attempt.error);
    ASSERT_EQ(server.requests().size(), 1u);
    const RecordedRequest request = server.requests()[0];
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.body, R"({"task_id":"t"})");
    EXPECT_EQ(request.header("task-runner-signature"), "t=1,v1=ab");
    EXPECT_EQ(request.header("expect"), "");
}

TEST(PostWebhook, DoesNotFollowARedirect) {
    // Where the redirect points is never asked: a 3xx is the receiver's answer, and a failure.
    const LoopbackHttpServer server =
        answering("HTTP/1.1 302 Found\r\nLocation: "
                  "http://169.254.169.254/latest/\r\nContent-Length: 0\r\n\r\n");
    const PostOutcome outcome = post_webhook(url_of(server), "{}", {}, loopback_allowed(), running);
    EXPECT_EQ(outcome.attempt.http_status, 302);
    ASSERT_TRUE(outcome.attempt.error);
    EXPECT_EQ(*outcome.attempt.error, "HTTP 302");
    EXPECT_TRUE(outcome.attempt.retryable);
    EXPECT_EQ(server.requests().size(), 1u);
}

TEST(PostWebhook, CutsALongAnswerOffAndKeepsItsStatus) {
    const LoopbackHttpServer server =
        answering("HTTP/1.1 500 Oops\r\nContent-Length: 100000\r\n\r\n" + std::string(100000, 'x'));
    const PostOutcome outcome = post_webhook(url_of(server), "{}", {}, loopback_allowed(), running);
    EXPECT_EQ(outcome.attempt.http_status, 500);
    ASSERT_TRUE(outcome.attempt.error);
    EXPECT_EQ(*outcome.attempt.error, "HTTP 500: " + std::string(16, 'x'));
}

TEST(PostWebhook, IgnoresAProxyFromTheEnvironment) {
    const LoopbackHttpServer server = answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ::setenv("http_proxy", "http://127.0.0.1:1", 1); // nothing listens there
    ::setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
    const PostOutcome outcome = post_webhook(url_of(server), "{}", {}, loopback_allowed(), running);
    ::unsetenv("http_proxy");
    ::unsetenv("HTTP_PROXY");
    EXPECT_EQ(outcome.attempt.http_status, 200);
    EXPECT_EQ(server.requests().size(), 1u);
}

TEST(PostWebhook, RefusesANameThatResolvesToAnAddressNotListed) {
    // "*.localhost" admits the name; libcurl resolves it to 127.0.0.1 and ::1, which only an exact
    // entry admits: refused in the socket callback, nothing reaches the server, no retry.
    const LoopbackHttpServer server = answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    WebhooksConfig config = loopback_allowed();
    config.allowed_hosts = {"*.localhost"};
    const PostOutcome outcome =
        post_webhook(url_of(server, "hooks.localhost"), "{}", {}, config, running);
    EXPECT_FALSE(outcome.attempt.http_status);
    ASSERT_TRUE(outcome.attempt.error);
    EXPECT_NE(outcome.attempt.error->find("loopback"), std::string::npos) << *outcome.attempt.error;
    EXPECT_FALSE(outcome.attempt.retryable);
    EXPECT_EQ(server.connections(), 0);
}

TEST(PostWebhook, RefusesAUrlTheConfigurationNoLongerAdmits) {
    const LoopbackHttpServer server = answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    WebhooksConfig config = loopback_allowed();
    config.allowed_hosts = {"hooks.example.com"};
    const PostOutcome outcome = post_webhook(url_of(server), "{}", {}, config, running);
    ASSERT_TRUE(outcome.attempt.error);
    EXPECT_FALSE(outcome.attempt.retryable);
    EXPECT_EQ(server.connections(), 0);
}

TEST(PostWebhook, ANoAnswerIsRetryable) {
    std::string port;
    {
        const LoopbackHttpServer gone = answering("");
        port = port_of(gone);
    } // closed: connection refused
    const PostOutcome outcome =
        post_webhook("http://127.0.0.1:" + port + "/", "{}", {}, loopback_allowed(), running);
    EXPECT_FALSE(outcome.attempt.http_status);
    ASSERT_TRUE(outcome.attempt.error);
    EXPECT_NE(outcome.attempt.error->find("no HTTP answer"), std::string::npos);
    EXPECT_TRUE(outcome.attempt.retryable);
}

} // namespace
} // namespace tr::runner
