// Submits several tasks as one batch, one after the other, and waits for each.
//
//   batch URL TASK...           the API key, if the server wants one, from $TASK_RUNNER_KEY
//
// Exit status: 0 every task completed, 1 some did not, 2 the server refused the batch, 3 it
// could not be reached.
#include <task_runner/client.h>

#include <cstdlib>
#include <iostream>

int main(int argc, char **argv) {
    if (argc < 3) {
        std::cerr << "usage: batch URL TASK...\n";
        return 2;
    }
    const char *key = std::getenv("TASK_RUNNER_KEY");
    try {
        task_runner::Client client =
            task_runner::ClientBuilder().http(argv[1]).api_key(key ? key : "").build();

        task_runner::BatchRequest batch;
        for (int i = 2; i < argc; ++i)
            batch.tasks.emplace_back(argv[i]);
        batch.mode = "sequential";
        batch.continue_on_error = true;
        const task_runner::BatchResponse accepted = client.batch(batch);
        std::cout << "batch " << accepted.batch_id << ": " << accepted.tasks.size() << " tasks\n";

        int completed = 0;
        for (const task_runner::BatchTask &queued : accepted.tasks) {
            const task_runner::TaskResponse task =
                client.wait(queued.task_id, std::chrono::minutes(2));
            std::cout << "  " << task.task_id << " " << task.status << ": "
                      << (task.result ? task.result->summary : task.task) << "\n";
            completed += task.status == "completed";
        }
        const task_runner::BatchStatus done = client.get_batch(accepted.batch_id);
        std::cout << "batch " << done.status << ": " << done.statistics.completed_tasks << " of "
                  << done.statistics.total_tasks << " completed\n";
        return completed == static_cast<int>(accepted.tasks.size()) ? 0 : 1;
    } catch (const task_runner::ApiError &e) {
        std::cerr << "batch: the server said " << e.http_status() << " " << e.code() << ": "
                  << e.message() << "\n";
        return 2;
    } catch (const task_runner::TransportError &e) {
        std::cerr << "batch: " << e.what() << "\n";
        return 3;
    } catch (const task_runner::Error &e) {
        std::cerr << "batch: " << e.what() << "\n";
        return 2;
    }
}
