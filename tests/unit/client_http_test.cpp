// The client library over HTTP against a real loopback server that plays the API, a broken
// server and a hostile one: errors become the one ApiError (status, code, message), a server
// that cannot be reached a TransportError, and garbage, wrong types or huge answers never crash.
#include "loopback_http_server.h"

#include <task_runner/client.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

namespace {

using tr::test::LoopbackHttpServer;
using tr::test::RecordedRequest;
using namespace std::chrono_literals;

const std::string completed_task =
    R"({"task_id":"t1","status":"completed","task":"list the files in .","priority":"normal",)"
    R"("metadata":{"ticket":"OPS-1"},"batch_id":null,"plan":{"understanding":"u","approach":"a",)"
    R"("complexity":"simple","estimated_steps":1,"requirements":["list_files"]},)"
    R"("result":{"success":true,"summary":"2 files","details":"a b","artifacts":[],)"
    R"("execution_time":0.5},"metrics":{"total_execution_time":0.5,"planning_time_ms":1,)"
    R"("execution_time_ms":2,"steps_executed":1,"tools_used":1,"tool_names":["list_files"],)"
    R"("tool_calls":{"list_files":1},"tool_time_ms":{"list_files":3},"model_calls":1,)"
    R"("tokens_used":30,"tokens":{"input":10,"output":20,"total":30}},"error":null,)"
    R"("attempts":1,"provider":"builtin","model":"builtin","created_at":"2026-01-01T00:00:00Z",)"
    R"("started_at":null,"completed_at":null,"steps":[{"step_number":1,"step_type":"tool_use",)"
    R"("description":"list","tool":"list_files","input":{"path":"."},"output":"a b",)"
    R"("status":"completed","error":null,"execution_time_ms":3,"tokens":null,)"
    R"("timestamp":"2026-01-01T00:00:00Z","attempt":1}]})";

task_runner::Client client_for(const LoopbackHttpServer &server,
                               std::chrono::milliseconds timeout = 5s) {
    return task_runner::ClientBuilder()
        .http(server.url())
        .api_key("k-secret")
        .timeout(timeout)
        .build();
}

// A server answering every request with one fixed response.
LoopbackHttpServer answering(int status, const std::string &body,
                             const std::string &content_type = "application/json") {
    return LoopbackHttpServer(
        [=](const RecordedRequest &, int, const LoopbackHttpServer::Send &send) {
            send(LoopbackHttpServer::response(status, body, content_type));
            return true;
        });
}

template <typename Call> task_runner::ApiError api_error_of(Call call) {
    try {
        call();
    } catch (const task_runner::ApiError &e) {
        return e;
    }
    ADD_FAILURE() << "no ApiError was thrown";
    return task_runner::ApiError(0, "", "");
}

TEST(ClientHttp, ReadsATaskWithPlanStepsResultAndMetrics) {
    const LoopbackHttpServer server = answering(200, completed_task);
    task_runner::Client client = client_for(server);
    const task_runner::TaskResponse task = client.get("t1");
    EXPECT_EQ(task.task_id, "t1");
    EXPECT_TRUE(task.is_terminal());
    EXPECT_EQ(task.metadata_json, R"({"ticket":"OPS-1"})");
    ASSERT_TRUE(task.plan && task.result && task.metrics);
    EXPECT_EQ(task.plan->requirements, std::vector<std::string>{"list_files"});
    EXPECT_EQ(task.result->summary, "2 files");
    EXPECT_EQ(task.metrics->tools_used, 1);
    EXPECT_EQ(task.metrics->tokens_used, 30);
    EXPECT_EQ(task.metrics->tokens.output, 20);
    ASSERT_EQ(task.steps.size(), 1u);
    EXPECT_EQ(task.steps[0].tool.value_or(""), "list_files");
    EXPECT_EQ(task.steps[0].input_json, R"({"path":"."})");
    EXPECT_EQ(task.json, completed_task);
}

TEST(ClientHttp, SendsTheKeyAsBearerAndKeepsOneConnection) {
    const LoopbackHttpServer server = answering(200, completed_task);
    task_runner::Client client = client_for(server);
    client.get("t1");
    client.get("a:b/c");
    client.get("t1");
    const std::vector<RecordedRequest> requests = server.requests();
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(requests[0].header("authorization"), "Bearer k-secret");
    EXPECT_EQ(requests[1].target, "/api/v1/tasks/a%3Ab%2Fc"); // an id is one path segment
    EXPECT_EQ(server.connections(), 1);
}

TEST(ClientHttp, AnApiErrorCarriesStatusCodeMessageAndRequestId) {
    const LoopbackHttpServer server([](const RecordedRequest &, int,
                                       const LoopbackHttpServer::Send &send) {
        const std::string body = R"({"error":{"code":"TASK_NOT_FOUND","message":"no task \"x\""}})";
        send("HTTP/1.1 404 Not Found\r\nX-Request-Id: r-42\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body);
        return true;
    });
    task_runner::Client client = client_for(server);
    const task_runner::ApiError error = api_error_of([&] { client.get("x"); });
    EXPECT_EQ(error.http_status(), 404);
    EXPECT_EQ(error.code(), "TASK_NOT_FOUND");
    EXPECT_EQ(error.message(), "no task \"x\"");
    EXPECT_EQ(error.request_id(), "r-42");
}

TEST(ClientHttp, AnErrorWithoutTheApisJsonIsStillAnApiError) {
    const LoopbackHttpServer server = answering(502, "<html>\001bad gateway</html>", "text/html");
    task_runner::Client client = client_for(server);
    const task_runner::ApiError error = api_error_of([&] { client.status(); });
    EXPECT_EQ(error.http_status(), 502);
    EXPECT_EQ(error.code(), "INVALID_RESPONSE");
    EXPECT_NE(error.message().find("<html>?bad gateway"), std::string::npos) << error.message();
}

TEST(ClientHttp, GarbageWrongTypesAndTruncatedJsonAreApiErrors) {
    const std::vector<std::string> hostile = {
        "not json at all",
        "",
        "[1,2,3]",
        R"({"task_id":"t1"})",                   // no status
        R"({"task_id":7,"status":"completed"})", // a number for a string
        R"({"task_id":"t1","status":"completed","steps":{}})",
        R"({"task_id":"t1","status":"completed","steps":[1]})",
        R"({"task_id":"t1","status":"completed","metrics":{"tools_used":"many"}})",
        R"({"task_id":"t1","status":"completed","metrics":{"tool_calls":{"x":"y"}}})",
        R"({"task_id":"t1","status":"completed","attempts":1e400})",
        R"({"task_id":"t1","status":"completed","attempts":99999999999999999999999})",
        completed_task.substr(0, completed_task.size() / 2),
        std::string(100000, '['),
    };
    for (const std::string &body : hostile) {
        const LoopbackHttpServer server = answering(200, body);
        task_runner::Client client = client_for(server);
        const task_runner::ApiError error = api_error_of([&] { client.get("t1"); });
        EXPECT_EQ(error.code(), "INVALID_RESPONSE") << body.substr(0, 80);
        EXPECT_EQ(error.http_status(), 200);
    }
}

TEST(ClientHttp, AHugeAnswerIsRefusedNotHeld) {
    const LoopbackHttpServer server(
        [](const RecordedRequest &, int, const LoopbackHttpServer::Send &send) {
            send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n");
            const std::string chunk(1 << 20, ' ');
            for (int i = 0; i < 80; ++i)
                if (!send(chunk))
                    break;
            return false;
        });
    task_runner::Client client = client_for(server);
    const task_runner::ApiError error = api_error_of([&] { client.get("t1"); });
    EXPECT_EQ(error.code(), "INVALID_RESPONSE");
    EXPECT_NE(error.message().find("bytes"), std::string::npos) << error.message();
}

TEST(ClientHttp, NoServerIsATransportError) {
    int port = 0;
    {
        const LoopbackHttpServer gone = answering(200, "{}");
        port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
    }
    task_runner::Client client =
        task_runner::ClientBuilder().http("http://127.0.0.1:" + std::to_string(port)).build();
    EXPECT_THROW(client.status(), task_runner::TransportError);
}

TEST(ClientHttp, ASilentServerTimesOutAsATransportError) {
    const LoopbackHttpServer server(
        [](const RecordedRequest &, int, const LoopbackHttpServer::Send &) {
            return false; // reads the request, never answers, closes only at the end of the test
        });
    task_runner::Client client = client_for(server, 300ms);
    EXPECT_THROW(client.status(), task_runner::TransportError);
}

TEST(ClientHttp, TheInterruptCheckAbandonsARequest) {
    LoopbackHttpServer server(
        [&server](const RecordedRequest &, int, const LoopbackHttpServer::Send &) {
            while (!server.stopping())
                std::this_thread::sleep_for(10ms);
            return false;
        });
    std::atomic<int> polls{0};
    task_runner::Client client = task_runner::ClientBuilder()
                                     .http(server.url())
                                     .interrupt_when([&polls] { return ++polls > 3; })
                                     .build();
    EXPECT_THROW(client.get("t1"), task_runner::Interrupted);
}

TEST(ClientHttp, SubmitSaysWhetherItCreatedTheTask) {
    const LoopbackHttpServer server(
        [](const RecordedRequest &request, int index, const LoopbackHttpServer::Send &send) {
            const std::string body = R"({"task_id":"mine","status":"queued","created_at":"x"})";
            send(LoopbackHttpServer::response(index == 0 ? 202 : 200, body));
            return request.method == "POST";
        });
    task_runner::Client client = client_for(server);
    task_runner::TaskRequest request("say hello");
    request.task_id = "mine";
    request.priority = "high";
    request.metadata["ticket"] = "OPS-1";
    request.context = task_runner::TaskContext{};
    request.context->tools = {"run_command"};
    request.context->constraints.max_steps = 3;
    EXPECT_TRUE(client.submit(request).created);
    EXPECT_FALSE(client.submit(request).created);
    EXPECT_EQ(server.requests()[0].body,
              R"({"task":"say hello","task_id":"mine","priority":"high","metadata":{"ticket":)"
              R"("OPS-1"},"context":{"tools":["run_command"],"constraints":{"max_steps":3}}})");
}

TEST(ClientHttp, BadMetadataJsonIsRefusedBeforeSending) {
    const LoopbackHttpServer server = answering(202, "{}");
    task_runner::Client client = client_for(server);
    task_runner::TaskRequest request("x");
    request.metadata_json = "[1]";
    EXPECT_THROW(client.submit(request), task_runner::Error);
    EXPECT_TRUE(server.requests().empty());
}

TEST(ClientHttp, WaitLongPollsUntilTheTaskEnds) {
    const LoopbackHttpServer server([](const RecordedRequest &, int index,
                                       const LoopbackHttpServer::Send &send) {
        send(LoopbackHttpServer::response(200, index < 2 ? R"({"task_id":"t1","status":"running"})"
                                                         : completed_task));
        return true;
    });
    task_runner::Client client = client_for(server);
    const task_runner::TaskResponse task = client.wait("t1", 90s);
    EXPECT_EQ(task.status, "completed");
    const std::vector<RecordedRequest> requests = server.requests();
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(requests[0].target, "/api/v1/tasks/t1?wait=60"); // the server's longest wait
}

TEST(ClientHttp, BatchSendsEveryTaskAndReadsTheIds) {
    const LoopbackHttpServer server = answering(
        202, R"({"batch_id":"b1","mode":"sequential","continue_on_error":true,"created_at":"x",)"
             R"("tasks":[{"task_id":"a","status":"queued"},{"task_id":"b","status":"queued"}]})");
    task_runner::Client client = client_for(server);
    task_runner::BatchRequest batch;
    batch.tasks = {task_runner::TaskRequest("one"), task_runner::TaskRequest("two")};
    batch.mode = "sequential";
    batch.continue_on_error = true;
    const task_runner::BatchResponse answer = client.batch(batch);
    EXPECT_EQ(answer.batch_id, "b1");
    EXPECT_TRUE(answer.created); // 202
    ASSERT_EQ(answer.tasks.size(), 2u);
    EXPECT_EQ(answer.tasks[1].task_id, "b");
    EXPECT_EQ(server.requests()[0].body, R"({"tasks":[{"task":"one"},{"task":"two"}],)"
                                         R"("mode":"sequential","continue_on_error":true})");
}

TEST(ClientHttp, TheSameBatchAgainIsReadAsNotCreated) {
    const LoopbackHttpServer server =
        answering(200, R"({"batch_id":"b1","tasks":[{"task_id":"a","status":"completed"}]})");
    task_runner::Client client = client_for(server);
    task_runner::BatchRequest batch;
    batch.tasks = {task_runner::TaskRequest("one")};
    const task_runner::BatchResponse answer = client.batch(batch);
    EXPECT_FALSE(answer.created); // 200: the batch made before, nothing new
    EXPECT_EQ(answer.tasks.at(0).status, "completed");
}

TEST(ClientHttp, AnEmptyIdIsRefusedWithoutARequest) {
    const LoopbackHttpServer server = answering(200, completed_task);
    task_runner::Client client = client_for(server);
    EXPECT_THROW(client.get(""), task_runner::Error);
    EXPECT_THROW(client.cancel(""), task_runner::Error);
    EXPECT_TRUE(server.requests().empty());
}

TEST(ClientHttp, ABuilderWithoutTransportOrWithABadUrlIsRefused) {
    EXPECT_THROW(task_runner::ClientBuilder().build(), task_runner::Error);
    EXPECT_THROW(task_runner::ClientBuilder().http("ftp://x").build(), task_runner::Error);
}

} // namespace
