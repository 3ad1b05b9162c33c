// The in-process client: no server, the API's handlers and an embedded runner in this process,
// on a real SQLite file, executing real tasks in the configured sandbox (tools.sandbox auto:
// bubblewrap where it works, as the runner program does).
#include "test_support.h"

#include "core/db.h"

#include <task_runner/client.h>

#include <gtest/gtest.h>

#include <SQLiteCpp/Statement.h>

namespace {

using namespace std::chrono_literals;
using tr::test::TempDir;

// A configuration of its own: the tasks work in `work/`, the database is data/tasks.db.
std::string write_config(const TempDir &dir, const std::string &more = "") {
    dir.make_dir("work");
    dir.write("work/hello.txt", "hello from the in-process test\n");
    return dir.write("task-runner.cfg", more + "tools = {\n"
                                               "    working_directory = \"work\";\n"
                                               "    allowed_paths = [\"work\"];\n"
                                               "};\n"
                                               "storage = { database = \"data/tasks.db\"; };\n");
}

TEST(ClientInProcess, ExecutesATaskWithNoServerAndRecordsItInTheDatabase) {
    const TempDir dir;
    task_runner::Client client =
        task_runner::ClientBuilder().in_process_config(write_config(dir)).build();
    const task_runner::TaskResponse task = client.execute_simple_task("list the files in .", 60s);
    ASSERT_EQ(task.status, "completed") << task.json;
    ASSERT_TRUE(task.result);
    EXPECT_NE(task.result->details.find("hello.txt"), std::string::npos) << task.json;
    ASSERT_FALSE(task.steps.empty());
    ASSERT_TRUE(task.metrics);
    EXPECT_GE(task.metrics->tools_used, 1);

    tr::Db db(dir / "data/tasks.db");
    SQLite::Statement row(db.handle(), "SELECT status FROM tasks WHERE id = ?");
    row.bind(1, task.task_id);
    ASSERT_TRUE(row.executeStep());
    EXPECT_EQ(row.getColumn(0).getString(), "completed");
}

// The embedded runner is woken by the client's own submissions (core/wake_channel.h). It polls
// every 10 s here, and after its first look at the queue an idle runner looks again only at
// that tick or when woken: a task submitted after that look and started before the tick was
// found by the wake.
TEST(ClientInProcess, TheEmbeddedRunnerIsWokenBySubmissionsInsteadOfWaitingForItsPoll) {
    const TempDir dir;
    task_runner::Client client =
        task_runner::ClientBuilder()
            .in_process_config(write_config(dir, "execution = { poll_interval_ms = 10000; };\n"))
            .build();
    tr::Db db(dir / "data/tasks.db");
    // Its supervisor heartbeats, then looks; the next heartbeat, 2 s on, comes after that look.
    ASSERT_TRUE(tr::test::wait_until(
        [&db] {
            return db.handle()
                       .execAndGet("SELECT count(*) FROM runners WHERE stopped_at IS NULL AND "
                                   "(julianday(heartbeat_at) - julianday(started_at)) * 86400 >= 1")
                       .getInt() == 1;
        },
        30s));
    const task_runner::TaskResponse task = client.execute_simple_task("list the files in .", 60s);
    ASSERT_EQ(task.status, "completed") << task.json;
    SQLite::Statement times(db.handle(),
                            "SELECT (julianday(t.started_at) - julianday(r.started_at)) * 86400, "
                            "(julianday(t.started_at) - julianday(t.created_at)) * 86400 "
                            "FROM tasks t JOIN runners r ON r.id = t.runner_id WHERE t.id = ?");
    times.bind(1, task.task_id);
    ASSERT_TRUE(times.executeStep());
    EXPECT_LT(times.getColumn(0).getDouble(), 10.0) << "started at the poll tick, not woken";
    EXPECT_LT(times.getColumn(1).getDouble(), 2.0);
}

TEST(ClientInProcess, FollowsTheEventsOfATaskToItsEnd) {
    const TempDir dir;
    task_runner::Client client =
        task_runner::ClientBuilder().in_process_config(write_config(dir)).build();
    const std::string id =
        client.submit(task_runner::TaskRequest("read the file hello.txt")).task_id;
    std::vector<std::string> kinds;
    const task_runner::EventStreamEnd end =
        client.events(id, [&kinds](const task_runner::TaskEvent &event) {
            kinds.push_back(event.kind + (event.status ? ":" + *event.status : ""));
            return true;
        });
    EXPECT_TRUE(end.task_ended);
    ASSERT_GE(kinds.size(), 3u);
    EXPECT_EQ(kinds.front(), "status:queued");
    EXPECT_EQ(kinds.back(), "status:completed");
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), "step"), kinds.end());
}

// A NUL byte in a command's output is stored as U+FFFD: the client's strict parser (no
// JSON_ALLOW_NUL) could not read the task back otherwise.
TEST(ClientInProcess, ReadsBackATaskWhoseOutputHadANulByte) {
    const TempDir dir;
    const std::string config = write_config(dir);
    task_runner::Client client = task_runner::ClientBuilder().in_process_config(config).build();
    const task_runner::TaskResponse task =
        client.execute_simple_task("run the command: printf 'a\\000b'", 60s);
    ASSERT_EQ(task.status, "completed") << task.json;
    ASSERT_TRUE(task.result);
    EXPECT_NE(task.result->details.find("a\xEF\xBF\xBD"
                                        "b"),
              std::string::npos)
        << task.json;
    EXPECT_EQ(client.get(task.task_id).status, "completed");
}

TEST(ClientInProcess, AnswersWithTheApisErrors) {
    const TempDir dir;
    task_runner::Client client =
        task_runner::ClientBuilder().in_process_config(write_config(dir)).build();
    try {
        client.get("no-such-task");
        ADD_FAILURE() << "no error";
    } catch (const task_runner::ApiError &e) {
        EXPECT_EQ(e.http_status(), 404);
        EXPECT_EQ(e.code(), "TASK_NOT_FOUND");
        EXPECT_FALSE(e.request_id().empty());
    }
    task_runner::TaskRequest bad("x");
    bad.priority = "urgent";
    try {
        client.submit(bad);
        ADD_FAILURE() << "no error";
    } catch (const task_runner::ApiError &e) {
        EXPECT_EQ(e.http_status(), 400);
        EXPECT_NE(e.message().find("urgent"), std::string::npos) << e.message();
    }
}

TEST(ClientInProcess, OpensADatabasePathWithTheDefaults) {
    const TempDir dir;
    {
        dir.make_dir("work");
        task_runner::Client client = task_runner::ClientBuilder()
                                         .in_process(dir / "fresh/tasks.db")
                                         .working_directory(dir / "work")
                                         .build();
        // Its own runner registers itself as it starts, on its thread.
        EXPECT_TRUE(tr::test::wait_until([&client] { return client.status().runners_alive == 1; }));
        // tools.sandbox auto, as for the runner program: bubblewrap (a dependency of ours).
        EXPECT_EQ(client.status().sandbox.value_or(""), "bubblewrap");
    }
    // Gone with the Client: the runner recorded that it stopped.
    tr::Db db(dir / "fresh/tasks.db");
    SQLite::Statement stopped(db.handle(),
                              "SELECT count(*) FROM runners WHERE stopped_at IS NOT NULL");
    ASSERT_TRUE(stopped.executeStep());
    EXPECT_EQ(stopped.getColumn(0).getInt(), 1);
}

TEST(ClientInProcess, ABadConfigurationIsAnErrorOfBuild) {
    const TempDir dir;
    const std::string config = dir.write("bad.cfg", "execution = { max_steps = 0; };\n");
    try {
        task_runner::ClientBuilder().in_process_config(config).build();
        ADD_FAILURE() << "no error";
    } catch (const task_runner::Error &e) {
        EXPECT_NE(std::string(e.what()).find("max_steps"), std::string::npos) << e.what();
    }
    EXPECT_THROW(task_runner::ClientBuilder().in_process("").build(), task_runner::Error);
}

TEST(ClientInProcess, ADatabaseInsideTheTasksDirectoryIsRefused) {
    const TempDir dir;
    try {
        task_runner::ClientBuilder()
            .in_process(dir / "tasks.db")
            .working_directory(dir.path())
            .build();
        ADD_FAILURE() << "no error";
    } catch (const task_runner::Error &e) {
        EXPECT_NE(std::string(e.what()).find("tasks.db"), std::string::npos) << e.what();
    }
}

} // namespace
