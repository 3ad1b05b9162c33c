// Runs one task on a Task Runner server over HTTP and prints what it did.
//
//   http_client URL [TASK]      the API key, if the server wants one, from $TASK_RUNNER_KEY
//
// Exit status: 0 the task completed, 1 it did not, 2 the server refused the request, 3 it
// could not be reached.
#include <task_runner/client.h>

#include <cstdlib>
#include <iostream>

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        std::cerr << "usage: http_client URL [TASK]\n";
        return 2;
    }
    const char *key = std::getenv("TASK_RUNNER_KEY");
    try {
        task_runner::Client client = task_runner::ClientBuilder()
                                         .http(argv[1])
                                         .api_key(key ? key : "")
                                         .timeout(std::chrono::seconds(30))
                                         .build();
        const task_runner::ServiceStatus status = client.status();
        std::cout << "server " << status.version << ", " << status.runners_alive << " runner(s), "
                  << status.queue_depth << " task(s) queued\n";

        // The original project's first example: submit, wait, read the result.
        const task_runner::TaskResponse task =
            client.execute_simple_task(argc > 2 ? argv[2] : "list the files in .");
        std::cout << "task " << task.task_id << ": " << task.status << "\n";
        for (const task_runner::ExecutionStep &step : task.steps)
            std::cout << "  step " << step.step_number << " " << step.step_type << " "
                      << step.tool.value_or("-") << ": " << step.status << "\n";
        if (task.result)
            std::cout << "summary: " << task.result->summary << "\n";
        if (task.error)
            std::cout << "error: " << task.error->code << ": " << task.error->message << "\n";
        if (task.metrics)
            std::cout << "tool calls: " << task.metrics->tools_used
                      << ", tokens: " << task.metrics->tokens_used << "\n";
        return task.status == "completed" ? 0 : 1;
    } catch (const task_runner::ApiError &e) {
        std::cerr << "http_client: the server said " << e.http_status() << " " << e.code() << ": "
                  << e.message() << "\n";
        return 2;
    } catch (const task_runner::TransportError &e) {
        std::cerr << "http_client: " << e.what() << "\n";
        return 3;
    } catch (const task_runner::Error &e) {
        std::cerr << "http_client: " << e.what() << "\n";
        return 2;
    }
}
