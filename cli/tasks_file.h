// The tasks file of `task-runner submit`: either JSON shaped like the body of
// POST /api/v1/tasks/batch ({"tasks": [{"task": "..."}], "mode": ..., "continue_on_error": ...}),
// or plain text with one task per line, blank lines and lines starting with # skipped.
//
// Every task gets an id unless the file gives one: PREFIX-N, N its position from 1 and PREFIX
// the first 16 hex digits of the SHA-256 of the file's bytes (or --id-prefix). The same file
// submitted again names the same tasks, so the server creates nothing twice.
#pragma once

#include "core/json.h"

#include <task_runner/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tr::cli {

struct FileTask {
    JsonPtr request; // a task request object, with its task_id
    int line = 0;    // where it starts in the file
};

struct TasksFile {
    std::string name; // as messages show it: the path, or "-" (stdin)
    std::vector<FileTask> tasks;
    std::optional<std::string> mode; // from a JSON file
    std::optional<bool> continue_on_error;
    std::string content_hash; // full SHA-256 hex of the bytes
    // What the derived ids start with (without --id-prefix): the content's hash, mixed with the
    // submitting key's when there is one, so two keys' identical files never name the same
    // tasks (task ids are global on the server).
    std::string id_hash;
};

// Throws InputError "NAME:LINE: reason" for anything that cannot become a batch: malformed
// JSON, a task that is not an object with a "task" string, an empty file, more tasks than a
// batch holds, a task_id given twice, an --id-prefix that would make invalid ids.
// `submitter`: the API key that will submit it (empty: none).
TasksFile parse_tasks_file(std::string_view name, std::string_view content,
                           const std::optional<std::string> &id_prefix,
                           std::string_view submitter = {});

// The lines where the elements of the top-level object's "tasks" array start, in order (JSON
// parsers keep no positions). Assumes `content` is valid JSON.
std::vector<int> task_element_lines(std::string_view content);

// The request the library sends for one task of the file. Throws InputError "NAME:LINE: ..." for
// a field the API does not have or of the wrong type, and for what the library cannot send as
// written (an empty tools or allowed_paths list would be left out, widening the task to the
// server's defaults).
task_runner::TaskRequest library_request(const TasksFile &file, const FileTask &task);

// The file line of the task a server message names ("tasks[3]: ..."), if it names one.
std::optional<int> line_of_task_message(const TasksFile &file, std::string_view message);

} // namespace tr::cli
