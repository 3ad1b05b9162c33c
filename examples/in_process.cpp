// Runs a task with no server at all: the library opens the database itself and executes the
// task in this process, in the sandbox, printing each step as it starts and ends.
//
//   in_process DATABASE WORKDIR [TASK]   the tasks work in WORKDIR (the database must be
//                                        outside it)
//
// Exit status: 0 the task completed, 1 it did not, 2 an error.
#include <task_runner/client.h>

#include <iostream>

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        std::cerr << "usage: in_process DATABASE WORKDIR [TASK]\n";
        return 2;
    }
    try {
        task_runner::Client client =
            task_runner::ClientBuilder().in_process(argv[1]).working_directory(argv[2]).build();

        task_runner::TaskRequest request(argc > 3 ? argv[3] : "list the files in .");
        request.metadata["example"] = "in_process";
        const std::string id = client.submit(request).task_id;
        std::cout << "task " << id << " submitted\n";

        // Live progress from the event stream, until the task has ended.
        client.events(id, [](const task_runner::TaskEvent &event) {
            if (event.plan)
                std::cout << "plan: " << event.plan->approach << "\n";
            if (event.step)
                std::cout << "  step " << event.step->step_number << " "
                          << event.step->tool.value_or(event.step->step_type) << ": "
                          << event.step->status << "\n";
            if (event.status)
                std::cout << "status: " << *event.status << "\n";
            return true;
        });

        const task_runner::TaskResponse task = client.get(id);
        if (task.result)
            std::cout << "summary: " << task.result->summary << "\n";
        return task.status == "completed" ? 0 : 1;
    } catch (const task_runner::Error &e) {
        std::cerr << "in_process: " << e.what() << "\n";
        return 2;
    }
}
