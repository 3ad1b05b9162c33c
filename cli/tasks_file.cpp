// Reading a tasks file into batch requests with stable ids.
#include "cli/tasks_file.h"

#include "cli/usage_error.h"
#include "core/batch_store.h"
#include "core/digest.h"
#include "core/task_request.h"

#include <algorithm>

namespace tr::cli {
namespace {

[[noreturn]] void bad(std::string_view name, int line, const std::string &reason) {
    throw InputError(std::string(name) + ":" + std::to_string(line) + ": " + reason);
}

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && is_blank(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && is_blank(text.back()))
        text.remove_suffix(1);
    return text;
}

bool is_id_character(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
}

std::vector<FileTask> read_lines(std::string_view name, std::string_view content) {
    std::vector<FileTask> tasks;
    int line_number = 0;
    std::size_t start = 0;
    while (start < content.size()) {
        std::size_t end = content.find('\n', start);
        if (end == std::string_view::npos)
            end = content.size();
        ++line_number;
        const std::string_view line = trimmed(content.substr(start, end - start));
        start = end + 1;
        if (line.empty() || line.front() == '#')
            continue;
        json_t *text = json_stringn(line.data(), line.size());
        if (!text)
            bad(name, line_number, "the line is not valid UTF-8");
        FileTask task{JsonPtr(json_object()), line_number};
        json_object_set_new(task.request.get(), "task", text);
        tasks.push_back(std::move(task));
    }
    return tasks;
}

void read_json(std::string_view name, std::string_view content, TasksFile &file) {
    json_error_t error;
    const JsonPtr body(json_loadb(content.data(), content.size(), JSON_REJECT_DUPLICATES, &error));
    if (!body)
        bad(name, error.line, error.text);
    if (!json_is_object(body.get()))
        bad(name, 1, "the file must hold one JSON object, {\"tasks\": [...]}");
    const char *key;
    json_t *value;
    json_object_foreach(body.get(), key, value) {
        const std::string field = key;
        if (field != "tasks" && field != "mode" && field != "continue_on_error")
            bad(name, 1,
                "unknown field \"" + field.substr(0, 80) +
                    "\" (a batch has tasks, mode, continue_on_error)");
    }
    const json_t *tasks = json_object_get(body.get(), "tasks");
    if (!json_is_array(tasks))
        bad(name, 1, "\"tasks\" must be an array of task requests, [{\"task\": \"...\"}]");
    if (const json_t *mode = json_object_get(body.get(), "mode")) {
        if (!json_is_string(mode))
            bad(name, 1, "\"mode\" must be \"parallel\" or \"sequential\"");
        file.mode = json_string_value(mode);
    }
    if (const json_t *flag = json_object_get(body.get(), "continue_on_error")) {
        if (!json_is_boolean(flag))
            bad(name, 1, "\"continue_on_error\" must be true or false");
        file.continue_on_error = json_is_true(flag);
    }
    const std::vector<int> lines = task_element_lines(content);
    std::size_t index;
    json_t *item;
    json_array_foreach(tasks, index, item) {
        const int line = index < lines.size() ? lines[index] : 1;
        if (!json_is_object(item) || !json_is_string(json_object_get(item, "task")))
            bad(name, line,
                "tasks[" + std::to_string(index) +
                    "] must be an object with a \"task\" string, {\"task\": \"...\"}");
        file.tasks.push_back({JsonPtr(json_deep_copy(item)), line});
    }
}

void assign_ids(TasksFile &file, const std::optional<std::string> &id_prefix) {
    const std::string prefix = id_prefix.value_or(file.id_hash.substr(0, 16));
    std::vector<std::string> seen;
    for (std::size_t i = 0; i < file.tasks.size(); ++i) {
        json_t *request = file.tasks[i].request.get();
        if (!json_object_get(request, "task_id"))
            json_object_set_new(request, "task_id",
                                json_text(prefix + "-" + std::to_string(i + 1)));
        const json_t *id = json_object_get(request, "task_id");
        const std::string text = json_is_string(id) ? json_string_value(id) : "";
        if (std::find(seen.begin(), seen.end(), text) != seen.end())
            bad(file.name, file.tasks[i].line,
                "task_id \"" + text.substr(0, 80) + "\" is given twice in this file");
        seen.push_back(text);
    }
}

// Reading one task object of a JSON file into the library's request; `where` names it.
class RequestReader {
public:
    explicit RequestReader(std::string where) : where_(std::move(where)) {}

    task_runner::TaskRequest read(const json_t *object) const {
        only(object, "", {"task", "task_id", "priority", "metadata", "context"});
        task_runner::TaskRequest request(text(object, "task").value_or(""));
        request.task_id = text(object, "task_id");
        request.priority = text(object, "priority");
        if (const json_t *metadata = json_object_get(object, "metadata")) {
            if (!json_is_object(metadata))
                fail("metadata must be an object");
            request.metadata_json = dump_json(metadata);
        }
        if (const json_t *context = json_object_get(object, "context"))
            request.context = read_context(context);
        return request;
    }

private:
    [[noreturn]] void fail(const std::string &reason) const {
        throw InputError(where_ + ": " + reason);
    }

    void only(const json_t *object, const std::string &scope,
              std::initializer_list<const char *> names) const {
        const char *key;
        json_t *value;
        json_object_foreach(const_cast<json_t *>(object), key, value) {
            if (std::none_of(names.begin(), names.end(),
                             [&](const char *name) { return std::string(name) == key; }))
                fail("unknown field \"" + scope + std::string(key).substr(0, 80) + "\"");
        }
    }

    std::optional<std::string> text(const json_t *object, const char *name) const {
        const json_t *value = json_object_get(object, name);
        if (!value)
            return std::nullopt;
        if (!json_is_string(value))
            fail(std::string(name) + " must be a string");
        return std::string(json_string_value(value), json_string_length(value));
    }

    std::optional<std::int64_t> number(const json_t *object, const std::string &name) const {
        const json_t *value = json_object_get(object, name.c_str());
        if (!value)
            return std::nullopt;
        if (!json_is_integer(value))
            fail("context.constraints." + name + " must be a whole number");
        return json_integer_value(value);
    }

    // `name` is the field; messages call it `scope` + `name`.
    std::vector<std::string> strings(const json_t *object, const std::string &scope,
                                     const std::string &field) const {
        const std::string name = scope + field;
        const json_t *list = json_object_get(object, field.c_str());
        if (!list)
            return {};
        if (!json_is_array(list) || json_array_size(list) == 0)
            fail(name + " must be a non-empty list of strings (leave it out for the server's)");
        std::vector<std::string> items;
        std::size_t index;
        json_t *item;
        json_array_foreach(const_cast<json_t *>(list), index, item) {
            if (!json_is_string(item))
                fail(name + " must be a list of strings");
            items.emplace_back(json_string_value(item));
        }
        return items;
    }

    task_runner::TaskContext read_context(const json_t *context) const {
        if (!json_is_object(context))
            fail("context must be an object");
        only(context, "context.", {"working_directory", "environment", "tools", "constraints"});
        task_runner::TaskContext read;
        read.working_directory = text(context, "working_directory");
        read.tools = strings(context, "context.", "tools");
        if (const json_t *environment = json_object_get(context, "environment")) {
            if (!json_is_object(environment))
                fail("context.environment must be an object of strings");
            const char *key;
            json_t *value;
            json_object_foreach(const_cast<json_t *>(environment), key, value) {
                if (!json_is_string(value))
                    fail("context.environment." + std::string(key).substr(0, 80) +
                         " must be a string");
                read.environment[key] = json_string_value(value);
            }
        }
        if (const json_t *constraints = json_object_get(context, "constraints")) {
            if (!json_is_object(constraints))
                fail("context.constraints must be an object");
            only(constraints, "context.constraints.",
                 {"max_execution_time", "max_steps", "max_tokens", "allowed_paths"});
            read.constraints.max_execution_time = number(constraints, "max_execution_time");
            read.constraints.max_steps = number(constraints, "max_steps");
            read.constraints.max_tokens = number(constraints, "max_tokens");
            read.constraints.allowed_paths =
                strings(constraints, "context.constraints.", "allowed_paths");
        }
        return read;
    }

    std::string where_;
};

} // namespace

task_runner::TaskRequest library_request(const TasksFile &file, const FileTask &task) {
    const std::size_t index = static_cast<std::size_t>(&task - file.tasks.data());
    return RequestReader(file.name + ":" + std::to_string(task.line) + ": tasks[" +
                         std::to_string(index) + "]")
        .read(task.request.get());
}

std::vector<int> task_element_lines(std::string_view content) {
    std::vector<int> lines;
    int line = 1;
    int depth = 0;
    bool in_string = false, escaped = false, in_tasks = false, expect_element = false;
    std::string string_value, last_string, key;
    for (const char c : content) {
        if (c == '\n')
            ++line;
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false, last_string = string_value;
            else
                string_value += c;
            continue;
        }
        if (is_blank(c))
            continue;
        if (in_tasks && depth == 2 && expect_element && c != ']') {
            lines.push_back(line);
            expect_element = false;
        }
        switch (c) {
        case '"':
            in_string = true;
            string_value.clear();
            break;
        case ':':
            if (depth == 1)
                key = last_string;
            break;
        case ',':
            expect_element = in_tasks && depth == 2;
            if (depth == 1)
                key.clear();
            break;
        case '{':
        case '[':
            if (c == '[' && depth == 1 && key == "tasks")
                in_tasks = expect_element = true;
            ++depth;
            break;
        case '}':
        case ']':
            --depth;
            if (depth < 2)
                in_tasks = false;
            break;
        default: break;
        }
    }
    return lines;
}

TasksFile parse_tasks_file(std::string_view name, std::string_view content,
                           const std::optional<std::string> &id_prefix,
                           std::string_view submitter) {
    TasksFile file;
    file.name = name;
    file.content_hash = sha256_hex(content);
    // The key enters only through its own hash: the ids show 64 bits of a hash of a hash.
    file.id_hash = submitter.empty() ? file.content_hash
                                     : sha256_hex(file.content_hash + "\n" + sha256_hex(submitter));
    if (id_prefix) {
        // The ids are PREFIX-N; the server allows 128 characters of [A-Za-z0-9._:-].
        if (id_prefix->empty() || id_prefix->size() > 100 ||
            !std::all_of(id_prefix->begin(), id_prefix->end(), is_id_character))
            throw UsageError("--id-prefix must be 1..100 of letters, digits and . _ : - (got \"" +
                             id_prefix->substr(0, 100) + "\")");
    }
    const std::string_view body = trimmed(content);
    if (!body.empty() && body.front() == '{')
        read_json(name, content, file);
    else
        file.tasks = read_lines(name, content);
    if (file.tasks.empty())
        bad(name, 1,
            "no tasks (one per line, or {\"tasks\": [...]}; blank and # lines are skipped)");
    if (file.tasks.size() > max_batch_tasks)
        bad(name, file.tasks[max_batch_tasks].line,
            "a batch holds at most " + std::to_string(max_batch_tasks) + " tasks; this is task " +
                std::to_string(max_batch_tasks + 1) + " (split the file)");
    assign_ids(file, id_prefix);
    return file;
}

std::optional<int> line_of_task_message(const TasksFile &file, std::string_view message) {
    const std::size_t at = message.find("tasks[");
    if (at == std::string_view::npos)
        return std::nullopt;
    std::size_t index = 0;
    std::size_t i = at + 6;
    if (i >= message.size() || message[i] < '0' || message[i] > '9')
        return std::nullopt;
    for (; i < message.size() && message[i] >= '0' && message[i] <= '9' && index < 100000; ++i)
        index = index * 10 + static_cast<std::size_t>(message[i] - '0');
    if (i >= message.size() || message[i] != ']' || index >= file.tasks.size())
        return std::nullopt;
    return file.tasks[index].line;
}

} // namespace tr::cli
