// Reading the API's answers into the public types: both shapes of the task metrics (the one
// before and the one after the move to the original project's), and what is tolerated.
#include "client/bad_response.h"
#include "client/response_json.h"

#include <gtest/gtest.h>

namespace {

TEST(ClientParse, MetricsInTheOriginalsShape) {
    const std::string body =
        R"({"task_id":"t","status":"completed","metrics":{"steps_executed":3,"tools_used":3,)"
        R"("tool_names":["list_files","read_file"],"tokens_used":150,)"
        R"("tokens":{"input":100,"output":50,"total":150}}})";
    const task_runner::TaskResponse task = tr::client::read_task_response(body);
    ASSERT_TRUE(task.metrics);
    EXPECT_EQ(task.metrics->tools_used, 3);
    EXPECT_EQ(task.metrics->tool_names, (std::vector<std::string>{"list_files", "read_file"}));
    EXPECT_EQ(task.metrics->tokens_used, 150);
    EXPECT_EQ(task.metrics->tokens.input, 100);
}

TEST(ClientParse, MetricsInTheEarlierShape) {
    const std::string body =
        R"({"task_id":"t","status":"completed","metrics":{"steps_executed":3,)"
        R"("tools_used":["list_files","read_file"],"tokens_used":{"input":100,"output":50,)"
        R"("total":150}}})";
    const task_runner::TaskResponse task = tr::client::read_task_response(body);
    ASSERT_TRUE(task.metrics);
    EXPECT_EQ(task.metrics->tools_used, 3); // tool calls made: the steps executed
    EXPECT_EQ(task.metrics->tool_names, (std::vector<std::string>{"list_files", "read_file"}));
    EXPECT_EQ(task.metrics->tokens_used, 150);
    EXPECT_EQ(task.metrics->tokens.output, 50);
}

TEST(ClientParse, AbsentAndNullFieldsGiveDefaultsAndNewFieldsAreIgnored) {
    const task_runner::TaskResponse task = tr::client::read_task_response(
        R"({"task_id":"t","status":"queued","plan":null,"metrics":null,"result":null,)"
        R"("a_field_from_the_future":{"x":[1]}})");
    EXPECT_FALSE(task.plan || task.metrics || task.result || task.error);
    EXPECT_EQ(task.metadata_json, "null");
    EXPECT_TRUE(task.steps.empty());
    EXPECT_FALSE(task.is_terminal());
}

TEST(ClientParse, AWrongTypeNamesWhereItIs) {
    try {
        tr::client::read_task_response(
            R"({"task_id":"t","status":"completed","steps":[{"step_number":1},{"tool":3}]})");
        ADD_FAILURE() << "no error";
    } catch (const tr::client::BadResponse &e) {
        EXPECT_STREQ(e.what(), "task.steps[1].tool must be a string (got an integer)");
    }
}

TEST(ClientParse, StatusAndBatchAndList) {
    const task_runner::ServiceStatus status = tr::client::read_service_status(
        R"({"version":"0.1.0","uptime_seconds":5,"queue_depth":2,"tasks":{"queued":2,)"
        R"("running":1,"completed":7,"failed":0,"cancelled":0,"timeout":0},)"
        R"("runners":{"alive":1,"last_heartbeat":"x","list":[]},"sandbox":"bubblewrap"})");
    EXPECT_EQ(status.tasks.completed, 7);
    EXPECT_EQ(status.runners_alive, 1);
    EXPECT_EQ(status.sandbox.value_or(""), "bubblewrap");
    const task_runner::TaskList list = tr::client::read_task_list(
        R"({"tasks":[{"task_id":"a","status":"failed","error":{"code":"TIMEOUT","message":"m"}}],)"
        R"("next_cursor":null})");
    ASSERT_EQ(list.tasks.size(), 1u);
    EXPECT_EQ(list.tasks[0].error->code, "TIMEOUT");
    EXPECT_FALSE(list.next_cursor);
}

} // namespace
