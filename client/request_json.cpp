// Writing the API's request bodies. Fields left unset are not sent, so the server's defaults
// apply and its validation (SPEC.md §3) stays the one judge of what is allowed.
#include "client/request_json.h"

#include "core/error.h"
#include "core/json.h"

#include <task_runner/error.h>

#include <curl/curl.h>

#include <memory>

namespace tr::client {
namespace {

void set_string(json_t *object, const char *key, const std::optional<std::string> &value) {
    if (value)
        json_object_set_new(object, key, json_text(*value));
}

void set_integer(json_t *object, const char *key, const std::optional<std::int64_t> &value) {
    if (value)
        json_object_set_new(object, key, json_integer(*value));
}

json_t *string_array(const std::vector<std::string> &items) {
    json_t *array = json_array();
    for (const std::string &item : items)
        json_array_append_new(array, json_text(item));
    return array;
}

json_t *context_json(const task_runner::TaskContext &context) {
    json_t *object = json_object();
    set_string(object, "working_directory", context.working_directory);
    if (!context.environment.empty()) {
        json_t *environment = json_object();
        for (const auto &[name, value] : context.environment)
            json_object_set_new(environment, name.c_str(), json_text(value));
        json_object_set_new(object, "environment", environment);
    }
    if (!context.tools.empty())
        json_object_set_new(object, "tools", string_array(context.tools));
    const task_runner::TaskConstraints &limits = context.constraints;
    json_t *constraints = json_object();
    set_integer(constraints, "max_execution_time", limits.max_execution_time);
    set_integer(constraints, "max_steps", limits.max_steps);
    set_integer(constraints, "max_tokens", limits.max_tokens);
    if (!limits.allowed_paths.empty())
        json_object_set_new(constraints, "allowed_paths", string_array(limits.allowed_paths));
    if (json_object_size(constraints) > 0)
        json_object_set_new(object, "constraints", constraints);
    else
        json_decref(constraints);
    return object;
}

json_t *metadata_json(const task_runner::TaskRequest &request) {
    if (!request.metadata_json.empty()) {
        JsonPtr parsed;
        try {
            parsed = parse_json(request.metadata_json);
        } catch (const tr::Error &e) {
            throw task_runner::Error(std::string("TaskRequest.metadata_json: ") + e.what());
        }
        if (!json_is_object(parsed.get()))
            throw task_runner::Error(std::string("TaskRequest.metadata_json must be an object "
                                                 "(got ") +
                                     json_type_name(parsed.get()) + ")");
        return parsed.release();
    }
    json_t *object = json_object();
    for (const auto &[key, value] : request.metadata)
        json_object_set_new(object, key.c_str(), json_text(value));
    return object;
}

JsonPtr task_request_json(const task_runner::TaskRequest &request) {
    JsonPtr body(json_object());
    json_object_set_new(body.get(), "task", json_text(request.task));
    set_string(body.get(), "task_id", request.task_id);
    set_string(body.get(), "priority", request.priority);
    if (!request.metadata.empty() || !request.metadata_json.empty())
        json_object_set_new(body.get(), "metadata", metadata_json(request));
    if (request.context)
        json_object_set_new(body.get(), "context", context_json(*request.context));
    set_string(body.get(), "callback_url", request.callback_url);
    return body;
}

std::string escaped(const std::string &text) {
    const std::unique_ptr<char, decltype(&curl_free)> out(
        curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size())), curl_free);
    if (!out)
        throw task_runner::Error("curl_easy_escape: out of memory");
    return out.get();
}

} // namespace

std::string task_request_body(const task_runner::TaskRequest &request) {
    return dump_json(task_request_json(request).get());
}

std::string batch_request_body(const task_runner::BatchRequest &request) {
    JsonPtr body(json_object());
    json_t *tasks = json_array();
    json_object_set_new(body.get(), "tasks", tasks);
    for (const task_runner::TaskRequest &task : request.tasks)
        json_array_append_new(tasks, task_request_json(task).release());
    set_string(body.get(), "mode", request.mode);
    if (request.continue_on_error)
        json_object_set_new(body.get(), "continue_on_error",
                            json_boolean(*request.continue_on_error));
    set_string(body.get(), "callback_url", request.callback_url);
    return dump_json(body.get());
}

std::string path_segment(const std::string &text) {
    return escaped(text);
}

std::string list_query_string(const task_runner::ListQuery &query) {
    std::string out;
    const auto add = [&out](const char *name, const std::optional<std::string> &value) {
        if (!value)
            return;
        out += out.empty() ? "?" : "&";
        out += name;
        out += "=" + escaped(*value);
    };
    add("status", query.status);
    add("batch_id", query.batch_id);
    add("priority", query.priority);
    add("since", query.since);
    add("limit",
        query.limit ? std::optional<std::string>(std::to_string(*query.limit)) : std::nullopt);
    add("cursor", query.cursor);
    return out;
}

} // namespace tr::client
