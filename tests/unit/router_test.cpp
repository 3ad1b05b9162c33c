// fcgi/router and fcgi/http: routes are data ({id} segments), unknown paths answer 404, known
// paths with the wrong method 405 with Allow, HEAD is answered as GET; query strings are
// percent-decoded; every error goes out as {"error":{"code","message"}}. Also fcgi/respond, the
// request boundary that turns whatever a handler throws into that shape.
#include "fcgi/router.h"

#include "core/db.h"
#include "core/log.h"
#include "core/migrate.h"
#include "fcgi/http.h"
#include "fcgi/respond.h"
#include "test_support.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <string>

namespace tr::fcgi {
namespace {

using test::contains;
using test::TempDir;

// Each handler answers with its own name and the {id} it was given, if any.
HttpResponse named(const char *name, const Call &call) {
    JsonPtr body(json_object());
    json_object_set_new(body.get(), "handler", json_string(name));
    const auto id = call.path.find("id");
    if (id != call.path.end())
        json_object_set_new(body.get(), "id", json_text(id->second));
    return json_response(200, body.get());
}

HttpResponse list_tasks(HandlerContext &, const Call &call) {
    return named("list_tasks", call);
}
HttpResponse submit_task(HandlerContext &, const Call &call) {
    return named("submit_task", call);
}
HttpResponse get_task(HandlerContext &, const Call &call) {
    EXPECT_EQ(call.path_param("id"), call.path.at("id"));
    return named("get_task", call);
}
HttpResponse cancel_task(HandlerContext &, const Call &call) {
    return named("cancel_task", call);
}
HttpResponse get_steps(HandlerContext &, const Call &call) {
    return named("get_steps", call);
}
HttpResponse post_only(HandlerContext &, const Call &call) {
    return named("post_only", call);
}
HttpResponse throws_not_found(HandlerContext &, const Call &call) {
    throw Error(ErrorCode::TaskNotFound, "task \"" + call.path_param("id") + "\" not found");
}
HttpResponse throws_internal(HandlerContext &, const Call &) {
    throw Error(ErrorCode::InternalError, "database: disk I/O error at /var/lib/secret.db");
}
HttpResponse throws_std(HandlerContext &, const Call &) {
    throw std::runtime_error("std::bad_thing");
}
HttpResponse throws_sqlite(HandlerContext &context, const Call &) {
    context.db.handle().exec("SELECT * FROM no_such_table");
    return {};
}
HttpResponse throws_read_only(HandlerContext &context, const Call &) {
    context.db.handle().exec("PRAGMA query_only = ON"); // writes now fail with SQLITE_READONLY
    context.db.handle().exec("CREATE TABLE written (x)");
    return {};
}
HttpResponse echo_body(HandlerContext &, const Call &call) {
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = call.request.body;
    return response;
}

const Router &router() {
    static const Router instance({
        {Method::Get, "/api/v1/tasks", Scope::None, list_tasks},
        {Method::Post, "/api/v1/tasks", Scope::None, submit_task},
        {Method::Get, "/api/v1/tasks/{id}", Scope::None, get_task, {"wait", "fields"}},
        {Method::Delete, "/api/v1/tasks/{id}", Scope::None, cancel_task},
        {Method::Get, "/api/v1/tasks/{id}/steps", Scope::None, get_steps},
        {Method::Post, "/api/v1/batches", Scope::None, post_only},
        {Method::Get, "/missing/{id}", Scope::None, throws_not_found},
        {Method::Get, "/internal", Scope::None, throws_internal},
        {Method::Get, "/std", Scope::None, throws_std},
        {Method::Get, "/sqlite", Scope::None, throws_sqlite},
        {Method::Post, "/read-only", Scope::None, throws_read_only},
        {Method::Post, "/echo", Scope::None, echo_body},
    });
    return instance;
}

class RouterTest : public ::testing::Test {
protected:
    RouterTest()
        : log_("fcgi_test", LogLevel::Error, log_pipe_write()), db_(dir_ / "tasks.db"),
          process_(stopping_), context_{config_, log_, db_, process_} {}

    ~RouterTest() override {
        ::close(log_fds_[0]);
        ::close(log_fds_[1]);
    }

    // POST and PUT carry a JSON Content-Type unless `content_type` says otherwise.
    HttpResponse dispatch(const std::string &method, const std::string &path,
                          std::optional<std::string> content_type = "application/json") {
        HttpRequest request;
        request.method = method;
        request.path = path;
        if (content_type)
            request.params["CONTENT_TYPE"] = *content_type;
        std::string matched;
        return router().dispatch(context_, request, no_stream_, matched);
    }

    // The handler that answered, or the error code.
    std::string answered_by(const std::string &method, const std::string &path,
                            std::optional<std::string> content_type = "application/json") {
        const HttpResponse response = dispatch(method, path, std::move(content_type));
        const JsonPtr body = parse_json(response.body);
        if (const std::optional<std::string> handler = json_string_member(body.get(), "handler"))
            return *handler;
        return json_string_member(json_object_get(body.get(), "error"), "code").value_or("?");
    }

    std::string id_given(const std::string &method, const std::string &path) {
        const JsonPtr body = parse_json(dispatch(method, path).body);
        return json_string_member(body.get(), "id").value_or("(none)");
    }

    static std::string header(const HttpResponse &response, const std::string &name) {
        for (const auto &[key, value] : response.headers)
            if (key == name)
                return value;
        return "(absent)";
    }

    // What the server logged (errors only), for checking 500s are logged with their details.
    std::string logged() {
        std::string text;
        char buffer[4096];
        ssize_t n;
        while ((n = ::read(log_fds_[0], buffer, sizeof buffer)) > 0)
            text.append(buffer, static_cast<std::size_t>(n));
        return text;
    }

    int log_pipe_write() {
        if (::pipe2(log_fds_, O_CLOEXEC | O_NONBLOCK) != 0)
            throw std::runtime_error("pipe2 failed");
        return log_fds_[1];
    }

    TempDir dir_;
    int log_fds_[2] = {-1, -1};
    Config config_;
    Log log_;
    Db db_;
    std::atomic<bool> stopping_{false};
    ProcessState process_;
    HandlerContext context_;
    const StreamWriter no_stream_ = [](std::string_view) { return false; };
};

TEST(MethodName, NamesEveryMethod) {
    EXPECT_STREQ(method_name(Method::Get), "GET");
    EXPECT_STREQ(method_name(Method::Post), "POST");
    EXPECT_STREQ(method_name(Method::Put), "PUT");
    EXPECT_STREQ(method_name(Method::Delete), "DELETE");
}

TEST_F(RouterTest, MatchesAFixedPathByMethod) {
    EXPECT_EQ(answered_by("GET", "/api/v1/tasks"), "list_tasks");
    EXPECT_EQ(answered_by("POST", "/api/v1/tasks"), "submit_task");
}

TEST_F(RouterTest, MatchesAnIdSegmentAndPassesItsValue) {
    EXPECT_EQ(answered_by("GET", "/api/v1/tasks/42"), "get_task");
    EXPECT_EQ(id_given("GET", "/api/v1/tasks/42"), "42");
    EXPECT_EQ(answered_by("DELETE", "/api/v1/tasks/4b1f-9c"), "cancel_task");
    EXPECT_EQ(id_given("DELETE", "/api/v1/tasks/4b1f-9c"), "4b1f-9c");
    EXPECT_EQ(answered_by("GET", "/api/v1/tasks/42/steps"), "get_steps");
    EXPECT_EQ(id_given("GET", "/api/v1/tasks/42/steps"), "42");
}

TEST_F(RouterTest, AnIdMatchesExactlyOneSegment) {
    EXPECT_EQ(answered_by("GET", "/api/v1/tasks/42/43"), "NOT_FOUND");
    EXPECT_EQ(answered_by("GET", "/api/v1/tasks/42/steps/1"), "NOT_FOUND");
}

TEST_F(RouterTest, AnswersNotFoundForAnUnknownPath) {
    const HttpResponse response = dispatch("GET", "/nope");
    EXPECT_EQ(response.status, 404);
    EXPECT_EQ(response.body,
              R"({"error":{"code":"NOT_FOUND","message":"no such endpoint: /nope"}})");
    EXPECT_EQ(header(response, "Allow"), "(absent)");
}

TEST_F(RouterTest, LiteralSegmentsMustMatchExactly) {
    EXPECT_EQ(answered_by("GET", "/api/v2/tasks"), "NOT_FOUND");
    EXPECT_EQ(answered_by("GET", "/API/v1/tasks"), "NOT_FOUND");
    EXPECT_EQ(answered_by("GET", "/api/v1/task"), "NOT_FOUND");
    EXPECT_EQ(answered_by("GET", "/api/v1"), "NOT_FOUND");
    EXPECT_EQ(answered_by("GET", "/"), "NOT_FOUND");
}

TEST_F(RouterTest, AnswersMethodNotAllowedWithAllowForAKnownPath) {
    const HttpResponse response = dispatch("PUT", "/api/v1/tasks");
    EXPECT_EQ(response.status, 405);
    EXPECT_EQ(header(response, "Allow"), "GET, POST");
    EXPECT_EQ(response.body,
              R"j({"error":{"code":"METHOD_NOT_ALLOWED","message":"PUT is not allowed on )j"
              R"j(/api/v1/tasks (allowed: GET, POST)"}})j");
}

TEST_F(RouterTest, TheAllowHeaderListsTheMethodsOfThatPathOnly) {
    const HttpResponse with_id = dispatch("POST", "/api/v1/tasks/42");
    EXPECT_EQ(with_id.status, 405);
    EXPECT_EQ(header(with_id, "Allow"), "GET, DELETE");
    const HttpResponse steps = dispatch("DELETE", "/api/v1/tasks/42/steps");
    EXPECT_EQ(steps.status, 405);
    EXPECT_EQ(header(steps, "Allow"), "GET");
}

TEST_F(RouterTest, AnUnknownMethodIsNotAllowed) {
    const HttpResponse response = dispatch("PATCH", "/api/v1/tasks/42");
    EXPECT_EQ(response.status, 405);
    EXPECT_EQ(header(response, "Allow"), "GET, DELETE");
}

TEST_F(RouterTest, AnswersHeadAsGet) {
    EXPECT_EQ(answered_by("HEAD", "/api/v1/tasks"), "list_tasks");
    EXPECT_EQ(answered_by("HEAD", "/api/v1/tasks/42"), "get_task");
}

TEST_F(RouterTest, HeadOnAPathWithoutGetIsNotAllowed) {
    const HttpResponse response = dispatch("HEAD", "/api/v1/batches");
    EXPECT_EQ(response.status, 405);
    EXPECT_EQ(header(response, "Allow"), "POST");
}

TEST_F(RouterTest, APostOrPutWithoutAJsonContentTypeIsUnsupported) {
    // What a page on another origin can send without a preflight: forms, text, nothing.
    for (const char *type :
         {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "",
          "application/jsonp", "application/json-seq", "text/json"}) {
        try {
            dispatch("POST", "/api/v1/tasks", std::string(type));
            ADD_FAILURE() << "accepted Content-Type \"" << type << "\"";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::UnsupportedMediaType) << type;
            EXPECT_EQ(e.http_status(), 415);
            EXPECT_TRUE(contains(e.what(), "Content-Type: application/json")) << e.what();
        }
    }
    try {
        dispatch("POST", "/echo", std::nullopt);
        ADD_FAILURE() << "accepted a body without a Content-Type";
    } catch (const Error &e) {
        EXPECT_EQ(std::string(e.what()),
                  "POST /echo takes a JSON body: send Content-Type: application/json (got no "
                  "Content-Type)");
    }
}

TEST_F(RouterTest, JsonIsAcceptedInAnyCaseWithParameters) {
    for (const char *type :
         {"application/json", "Application/JSON", "application/json; charset=utf-8",
          "application/json;charset=UTF-8", " application/json "})
        EXPECT_EQ(answered_by("POST", "/api/v1/tasks", type), "submit_task") << type;
}

TEST_F(RouterTest, OnlyBodiesAreChecked) {
    EXPECT_EQ(answered_by("GET", "/api/v1/tasks", "text/plain"), "list_tasks");
    EXPECT_EQ(answered_by("DELETE", "/api/v1/tasks/1", std::nullopt), "cancel_task");
    // An unknown path stays a 404 and a wrong method a 405, whatever the body.
    EXPECT_EQ(dispatch("POST", "/nope", "text/plain").status, 404);
    EXPECT_EQ(dispatch("POST", "/api/v1/tasks/1", "text/plain").status, 405);
}

TEST_F(RouterTest, HandlerExceptionsPassThrough) {
    EXPECT_THROW(dispatch("GET", "/missing/7"), Error);
}

// One rule for every route: a query parameter it does not take is refused, naming it and what
// the route takes, before its handler runs; those it takes pass.
TEST_F(RouterTest, RefusesAQueryParameterTheRouteDoesNotTakeNamingIt) {
    const auto refusal = [&](const std::string &method, const std::string &path,
                             const std::string &query) {
        HttpRequest request;
        request.method = method;
        request.path = path;
        request.query = query;
        std::string matched;
        try {
            router().dispatch(context_, request, no_stream_, matched);
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
            return std::string(e.what());
        }
        return std::string("(accepted)");
    };
    EXPECT_EQ(refusal("GET", "/api/v1/tasks/7", "wait=1&fields=x"), "(accepted)");
    EXPECT_EQ(refusal("GET", "/api/v1/tasks/7", "stauts=failed"),
              "unknown query parameter \"stauts\" (GET /api/v1/tasks/{id} takes wait, fields)");
    EXPECT_EQ(refusal("HEAD", "/api/v1/tasks/7", "wait=1&Wait=2"),
              "unknown query parameter \"Wait\" (GET /api/v1/tasks/{id} takes wait, fields)");
    EXPECT_EQ(refusal("DELETE", "/api/v1/tasks/7", "wait=1"),
              "unknown query parameter \"wait\" (DELETE /api/v1/tasks/{id} takes no query "
              "parameters)");
    EXPECT_EQ(refusal("GET", "/api/v1/tasks", "st%61tus=queued"),
              "unknown query parameter \"status\" (GET /api/v1/tasks takes no query parameters)");
    EXPECT_EQ(refusal("GET", "/api/v1/tasks", ""), "(accepted)");
    EXPECT_EQ(refusal("GET", "/api/v1/tasks", "&"), "(accepted)"); // no parameter at all
    EXPECT_TRUE(refusal("GET", "/api/v1/tasks", "=x").rfind("unknown query parameter \"\"", 0) ==
                0);
    const std::string long_name(100, 'n');
    EXPECT_EQ(refusal("GET", "/api/v1/tasks", long_name + "=1"),
              "unknown query parameter \"" + long_name.substr(0, 40) +
                  "\" (GET /api/v1/tasks takes no query parameters)");
}

TEST_F(RouterTest, AnEmptyRouterFindsNothing) {
    const Router empty({});
    HttpRequest request;
    request.method = "GET";
    request.path = "/api/v1/tasks";
    std::string matched;
    EXPECT_EQ(empty.dispatch(context_, request, no_stream_, matched).status, 404);
}

TEST(QueryParam, ReturnsTheValueOfANamedParameter) {
    HttpRequest request;
    request.query = "status=queued&limit=10";
    EXPECT_EQ(request.query_param("status"), "queued");
    EXPECT_EQ(request.query_param("limit"), "10");
}

TEST(QueryParam, IsNulloptWhenAbsent) {
    HttpRequest request;
    EXPECT_EQ(request.query_param("status"), std::nullopt);
    request.query = "status=queued";
    EXPECT_EQ(request.query_param("stat"), std::nullopt);
    EXPECT_EQ(request.query_param("statuses"), std::nullopt);
}

TEST(QueryParam, PercentDecodesValuesAndNames) {
    HttpRequest request;
    request.query = "q=hello%20world%21&na%6De=x&plus=a+b&zh=%E4%B8%AD%E6%96%87";
    EXPECT_EQ(request.query_param("q"), "hello world!");
    EXPECT_EQ(request.query_param("name"), "x");
    EXPECT_EQ(request.query_param("plus"), "a b");
    EXPECT_EQ(request.query_param("zh"), "中文");
}

TEST(QueryParam, AnEncodedAmpersandOrEqualsStaysInTheValue) {
    HttpRequest request;
    request.query = "q=a%26b%3Dc&next=1";
    EXPECT_EQ(request.query_param("q"), "a&b=c");
    EXPECT_EQ(request.query_param("next"), "1");
}

TEST(QueryParam, AParameterWithoutValueIsEmpty) {
    HttpRequest request;
    request.query = "flag&empty=&x=1";
    EXPECT_EQ(request.query_param("flag"), "");
    EXPECT_EQ(request.query_param("empty"), "");
    EXPECT_EQ(request.query_param("x"), "1");
}

TEST(QueryParam, TheFirstOccurrenceWins) {
    HttpRequest request;
    request.query = "a=1&a=2";
    EXPECT_EQ(request.query_param("a"), "1");
}

TEST(PercentDecode, KeepsMalformedEscapesAsTheyAre) {
    EXPECT_EQ(percent_decode("%41%42"), "AB");
    EXPECT_EQ(percent_decode("%e4%b8%ad"), "中");
    EXPECT_EQ(percent_decode("100%"), "100%");
    EXPECT_EQ(percent_decode("%4"), "%4");
    EXPECT_EQ(percent_decode("%zz"), "%zz");
    EXPECT_EQ(percent_decode("%%41"), "%A");
    EXPECT_EQ(percent_decode(""), "");
}

TEST(HttpRequestParam, ReturnsACgiParameter) {
    HttpRequest request;
    request.params = {{"HTTP_X_API_KEY", "key-1"}};
    EXPECT_EQ(request.param("HTTP_X_API_KEY"), "key-1");
    EXPECT_EQ(request.param("HTTP_AUTHORIZATION"), std::nullopt);
}

TEST(ErrorResponse, HasTheOneErrorShape) {
    const HttpResponse response =
        error_response(Error(ErrorCode::TaskNotFound, "task \"42\" not found"));
    EXPECT_EQ(response.status, 404);
    EXPECT_EQ(response.content_type, "application/json");
    EXPECT_EQ(response.body,
              R"({"error":{"code":"TASK_NOT_FOUND","message":"task \"42\" not found"}})");
    const JsonPtr body = parse_json(response.body);
    EXPECT_EQ(json_object_size(body.get()), 1u);
    EXPECT_EQ(json_object_size(json_object_get(body.get(), "error")), 2u);
}

TEST(ErrorResponse, UsesEachCodesStatus) {
    EXPECT_EQ(error_response(Error(ErrorCode::InvalidRequest, "x")).status, 400);
    EXPECT_EQ(error_response(Error(ErrorCode::Conflict, "x")).status, 409);
    EXPECT_EQ(error_response(Error(ErrorCode::PayloadTooLarge, "x")).status, 413);
    EXPECT_EQ(error_response(Error(ErrorCode::ServiceUnavailable, "x")).status, 503);
}

TEST(ErrorResponse, AServiceUnavailableSaysWhenToRetry) {
    const auto retry_after = [](const HttpResponse &response) {
        for (const auto &[name, value] : response.headers)
            if (name == "Retry-After")
                return value;
        return std::string("(absent)");
    };
    // Busy or too many waiting: a second, unless the error says how long (a full disk: longer).
    EXPECT_EQ(retry_after(error_response(Error(ErrorCode::ServiceUnavailable, "busy"))), "1");
    EXPECT_EQ(retry_after(error_response(
                  Error(ErrorCode::ServiceUnavailable, "full", std::chrono::seconds(10)))),
              "10");
    EXPECT_EQ(retry_after(error_response(write_failure_error(WriteFailure::DiskFull))), "10");
    EXPECT_EQ(retry_after(error_response(Error(ErrorCode::Conflict, "taken"))), "(absent)");
}

TEST(ErrorResponse, RepairsAMessageWithInvalidUtf8) {
    const HttpResponse response = error_response(Error(ErrorCode::InvalidRequest, "bad \xFF byte"));
    const JsonPtr body = parse_json(response.body); // still valid JSON
    EXPECT_EQ(json_string_member(json_object_get(body.get(), "error"), "message"),
              "bad \xEF\xBF\xBD byte");
}

TEST(JsonResponse, CarriesTheStatusAndCompactBody) {
    const JsonPtr body = parse_json(R"({"task_id": "42", "status": "queued"})");
    const HttpResponse response = json_response(202, body.get());
    EXPECT_EQ(response.status, 202);
    EXPECT_EQ(response.body, R"({"task_id":"42","status":"queued"})");
    EXPECT_EQ(response.content_type, "application/json");
}

TEST(ReasonPhrase, NamesTheStatusesWeSend) {
    EXPECT_STREQ(reason_phrase(200), "OK");
    EXPECT_STREQ(reason_phrase(202), "Accepted");
    EXPECT_STREQ(reason_phrase(404), "Not Found");
    EXPECT_STREQ(reason_phrase(405), "Method Not Allowed");
    EXPECT_STREQ(reason_phrase(413), "Payload Too Large");
    EXPECT_STREQ(reason_phrase(415), "Unsupported Media Type");
    EXPECT_STREQ(reason_phrase(503), "Service Unavailable");
    EXPECT_STREQ(reason_phrase(599), "Unknown");
}

// fcgi/respond: the request boundary.

class RespondTest : public RouterTest {
protected:
    HttpResponse respond_to(std::map<std::string, std::string> params,
                            const std::string &body = "") {
        std::size_t offset = 0;
        return respond(
            router(), context_, std::move(params),
            [&](char *buffer, std::size_t size) {
                const std::size_t n = std::min(size, body.size() - offset);
                std::memcpy(buffer, body.data() + offset, n);
                offset += n;
                return n;
            },
            no_stream_);
    }

    std::string error_code(const HttpResponse &response) {
        const JsonPtr body = parse_json(response.body);
        return json_string_member(json_object_get(body.get(), "error"), "code").value_or("?");
    }

    std::string error_message(const HttpResponse &response) {
        const JsonPtr body = parse_json(response.body);
        return json_string_member(json_object_get(body.get(), "error"), "message").value_or("?");
    }
};

TEST_F(RespondTest, RoutesByDocumentUriAndMethod) {
    const HttpResponse response = respond_to(
        {{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/api/v1/tasks/42"}, {"REQUEST_ID", "req-1"}});
    EXPECT_EQ(response.status, 200);
    EXPECT_TRUE(contains(response.body, "get_task"));
    EXPECT_EQ(header(response, "X-Request-Id"), "req-1");
}

TEST_F(RespondTest, IgnoresATrailingSlash) {
    const HttpResponse response =
        respond_to({{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/api/v1/tasks/"}});
    EXPECT_TRUE(contains(response.body, "list_tasks"));
}

TEST_F(RespondTest, MakesUpARequestIdWhenNginxGaveNone) {
    const HttpResponse response =
        respond_to({{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/api/v1/tasks"}});
    EXPECT_EQ(header(response, "X-Request-Id").size(), 32u);
}

TEST_F(RespondTest, ReadsTheBodyOfContentLength) {
    const HttpResponse response = respond_to({{"REQUEST_METHOD", "POST"},
                                              {"DOCUMENT_URI", "/echo"},
                                              {"CONTENT_LENGTH", "5"},
                                              {"CONTENT_TYPE", "application/json"}},
                                             "hello");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "hello");
}

TEST_F(RespondTest, RefusesABodyOverTheLimitBeforeReadingIt) {
    config_.service.max_request_body_kb = 1;
    const HttpResponse response = respond_to(
        {{"REQUEST_METHOD", "POST"}, {"DOCUMENT_URI", "/echo"}, {"CONTENT_LENGTH", "1025"}});
    EXPECT_EQ(response.status, 413);
    EXPECT_EQ(error_code(response), "PAYLOAD_TOO_LARGE");
    EXPECT_EQ(error_message(response), "the request body is 1025 bytes; the limit is 1024");
}

TEST_F(RespondTest, RefusesABodyShorterThanItsContentLength) {
    const HttpResponse response = respond_to({{"REQUEST_METHOD", "POST"},
                                              {"DOCUMENT_URI", "/echo"},
                                              {"CONTENT_LENGTH", "10"},
                                              {"CONTENT_TYPE", "application/json"}},
                                             "short");
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(error_message(response), "the request body ended after 5 of 10 bytes");
}

TEST_F(RespondTest, RefusesAContentLengthThatIsNotANumber) {
    const HttpResponse response = respond_to(
        {{"REQUEST_METHOD", "POST"}, {"DOCUMENT_URI", "/echo"}, {"CONTENT_LENGTH", "12abc"}});
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(error_message(response), "Content-Length is not a number");
}

TEST_F(RespondTest, TurnsAHandlersErrorIntoTheErrorShape) {
    const HttpResponse response =
        respond_to({{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/missing/7"}});
    EXPECT_EQ(response.status, 404);
    EXPECT_EQ(response.body,
              R"({"error":{"code":"TASK_NOT_FOUND","message":"task \"7\" not found"}})");
}

TEST_F(RespondTest, AnInternalErrorTellsOnlyTheRequestIdAndLogsTheDetails) {
    const HttpResponse response = respond_to(
        {{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/internal"}, {"REQUEST_ID", "req-500"}});
    EXPECT_EQ(response.status, 500);
    EXPECT_EQ(
        response.body,
        R"j({"error":{"code":"INTERNAL_ERROR","message":"internal error (request req-500)"}})j");
    const std::string log = logged();
    EXPECT_TRUE(contains(log, "event=request.failed request_id=req-500")) << log;
    EXPECT_TRUE(contains(log, "/var/lib/secret.db")) << log;
}

TEST_F(RespondTest, AnyOtherExceptionIsAnInternalErrorWithoutDetails) {
    for (const char *path : {"/std", "/sqlite"}) {
        const HttpResponse response = respond_to(
            {{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", path}, {"REQUEST_ID", "req-x"}});
        EXPECT_EQ(response.status, 500) << path;
        EXPECT_EQ(error_message(response), "internal error (request req-x)") << path;
        EXPECT_FALSE(contains(response.body, "no_such_table")) << path;
        EXPECT_FALSE(contains(response.body, "bad_thing")) << path;
    }
}

// Regression: a full disk or a read-only database answered 500 INTERNAL_ERROR, without
// Retry-After, though the client may simply retry later.
TEST_F(RespondTest, AWriteTheDatabaseRefusesIs503WithRetryAfterAndItsCauseInTheLog) {
    log_.set_min_level(LogLevel::Warn);
    const HttpResponse response = respond_to({{"REQUEST_METHOD", "POST"},
                                              {"DOCUMENT_URI", "/read-only"},
                                              {"CONTENT_TYPE", "application/json"},
                                              {"REQUEST_ID", "req-ro"}});
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(error_code(response), "SERVICE_UNAVAILABLE");
    EXPECT_EQ(error_message(response), "the database cannot be written: read-only");
    EXPECT_EQ(header(response, "Retry-After"), "10");
    const std::string log = logged();
    EXPECT_TRUE(contains(log, "level=warn")) << log;
    EXPECT_TRUE(contains(log, "event=request.refused request_id=req-ro")) << log;
    EXPECT_TRUE(contains(log, "attempt to write a readonly database (SQLite code 8)")) << log;
}

TEST_F(RespondTest, UnknownPathsAndMethodsKeepTheirStatus) {
    EXPECT_EQ(respond_to({{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/nope"}}).status, 404);
    const HttpResponse response =
        respond_to({{"REQUEST_METHOD", "PUT"}, {"DOCUMENT_URI", "/api/v1/tasks"}});
    EXPECT_EQ(response.status, 405);
    EXPECT_EQ(header(response, "Allow"), "GET, POST");
}

// Found by tests/fuzz/router (its corpus keeps the input: metrics_method.txt).
TEST_F(RespondTest, CountsAMethodHttpDoesNotHaveAsOther) {
    migrate(db_.handle());
    for (const char *method : {"GET", "BREW", "", "get", "G\"E\nT"})
        respond_to({{"REQUEST_METHOD", method}, {"DOCUMENT_URI", "/nope"}});
    respond_to({{"REQUEST_METHOD", "DELETE"}, {"DOCUMENT_URI", "/api/v1/tasks/9"}});
    process_.metrics.flush(db_);
    std::map<std::string, double> requests;
    Query rows = db_.query(
        "SELECT labels, value FROM metric_counters WHERE name = 'ai_agent_requests_total'");
    while (rows->executeStep())
        requests[rows->getColumn(0).getString()] = rows->getColumn(1).getDouble();
    const std::map<std::string, double> expected{
        {R"(method="GET",route="unmatched",status="404")", 1},
        {R"(method="other",route="unmatched",status="404")", 4},
        {R"(method="DELETE",route="/api/v1/tasks/{id}",status="200")", 1}};
    EXPECT_EQ(requests, expected);
}

TEST(ParseParams, SplitsNameValueEntries) {
    char method[] = "REQUEST_METHOD=GET";
    char query[] = "QUERY_STRING=a=1&b=2";
    char broken[] = "NO_EQUALS_SIGN";
    char *entries[] = {method, query, broken, nullptr};
    const std::map<std::string, std::string> params = parse_params(entries);
    EXPECT_EQ(params.size(), 2u);
    EXPECT_EQ(params.at("REQUEST_METHOD"), "GET");
    EXPECT_EQ(params.at("QUERY_STRING"), "a=1&b=2");
    EXPECT_TRUE(parse_params(nullptr).empty());
}

TEST(SerializeCgi, WritesStatusHeadersAndBody) {
    HttpResponse response;
    response.status = 405;
    response.body = "{}";
    response.set_header("Allow", "GET, POST");
    EXPECT_EQ(serialize_cgi(response), "Status: 405 Method Not Allowed\r\n"
                                       "Content-Type: application/json\r\n"
                                       "Allow: GET, POST\r\n"
                                       "Cache-Control: no-store\r\n\r\n{}");
}

} // namespace
} // namespace tr::fcgi
