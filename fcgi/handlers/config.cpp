// /api/v1/config: the effective configuration with where each value came from (secrets only as
// set or unset), changes to it (validated, stored, audited in one transaction; the live model
// settings from the next task on, the rest at the next restart; PUT /api/v1/config/model is a
// spelling of it), and validation of a configuration without applying it. Admin keys only.
#include "fcgi/handlers/routes.h"

#include "core/config_store.h"
#include "core/model.h"
#include "fcgi/handlers/common.h"

namespace tr::fcgi {
namespace {

constexpr const char *config_example = "{\"execution\": {\"max_steps\": 20}}";

// The body, or its "config" member when it is wrapped as {"config": {...}}.
const json_t *partial_config(const json_t *body) {
    const json_t *wrapped = json_object_get(body, "config");
    return json_is_object(wrapped) && json_object_size(body) == 1 ? wrapped : body;
}

json_t *string_list(const std::vector<std::string> &items) {
    json_t *list = json_array();
    for (const std::string &item : items)
        json_array_append_new(list, json_text(item));
    return list;
}

// The sections at the top level, as the original answered; beside them where each value came
// from, what is stored through the API, and the file.
HttpResponse get_config(HandlerContext &context, const Call &) {
    const Config effective = live_config(context.config, context.db);
    JsonPtr body = config_to_json(effective);
    JsonPtr sources(json_object());
    for (const std::string &path : config_setting_paths())
        json_object_set_new(sources.get(), path.c_str(), json_text(effective.source_of(path)));
    json_object_set_new(body.get(), "sources", sources.release());
    json_object_set_new(body.get(), "stored_overrides",
                        stored_config_overrides(context.db).release());
    json_object_set_new(body.get(), "file", json_text(context.config.file));
    return json_response(200, body.get());
}

ConfigUpdate apply_update(HandlerContext &context, const Call &call, const json_t *partial) {
    std::lock_guard<std::mutex> writer(context.process.write_gate);
    return update_config(context.db, context.config, partial, call.principal.key_id, Clock::now());
}

HttpResponse update_config_handler(HandlerContext &context, const Call &call) {
    const JsonPtr body = parse_body(call.request, config_example);
    const ConfigUpdate update = apply_update(context, call, partial_config(body.get()));
    JsonPtr reply(json_pack(
        "{s:o,s:o,s:s}", "applied_live", string_list(update.applied_live), "needs_restart",
        string_list(update.needs_restart), "message",
        update.needs_restart.empty()
            ? "applied: tasks started from now on use the new settings"
            : "stored: settings under needs_restart take effect when the service restarts"));
    return json_response(200, reply.get());
}

// The original's endpoint, a spelling of PUT /api/v1/config {"model": BODY}: the same checks,
// the same store, one transaction; it answers with the model the next task runs with.
HttpResponse update_model(HandlerContext &context, const Call &call) {
    const JsonPtr body =
        parse_body(call.request, "{\"provider\": \"openai\", \"model_name\": \"gpt-4o-mini\"}");
    if (!json_is_object(body.get()))
        throw Error(ErrorCode::InvalidRequest,
                    std::string("the request body must be a JSON object of model settings (got ") +
                        json_type_name(body.get()) + ")");
    const JsonPtr partial(json_pack("{s:O}", "model", body.get()));
    apply_update(context, call, partial.get());
    const ModelConfig effective = live_config(context.config, context.db).model;
    const ResolvedModel resolved = resolve_model(effective);
    JsonPtr reply(json_pack("{s:s,s:O,s:{s:s,s:s,s:s}}", "message",
                            "model settings updated; tasks started from now on use them", "model",
                            describe_model(effective).get(), "resolved", "provider",
                            resolved.provider.c_str(), "model", resolved.model.c_str(), "endpoint",
                            resolved.endpoint.c_str()));
    return json_response(200, reply.get());
}

std::vector<std::string> warnings_for(const Config &config) {
    std::vector<std::string> warnings;
    if (!config.model.api_key.empty())
        warnings.emplace_back(
            "model.api_key is a secret: prefer TASK_RUNNER_API_KEY or PUT /api/v1/config/model "
            "to writing it into the config file");
    if (config.model.temperature > 1.0)
        warnings.emplace_back("model.temperature above 1 makes tool calls less reliable");
    const std::optional<BindAddress> bind = parse_bind_address(config.service.bind_address);
    if (bind && bind->host != "127.0.0.1" && bind->host != "localhost" && bind->host != "::1" &&
        !config.service.require_api_key)
        warnings.emplace_back(
            "service.bind_address " + config.service.bind_address +
            " is reachable from other machines while service.require_api_key is off");
    // A ?wait=60 also spends a moment on the database before and after its wait.
    if (config.service.handler_timeout_seconds <= max_wait_seconds + 5)
        warnings.emplace_back("service.handler_timeout_seconds is " +
                              std::to_string(config.service.handler_timeout_seconds) +
                              ": a ?wait that comes near it is answered 504 by nginx");
    if (config.tools.sandbox == "none" && config.tools.enable_command_execution)
        warnings.emplace_back("tools.sandbox is none: commands run without bubblewrap");
    if (config.service.cors.allowed_origins.size() == 1 &&
        config.service.cors.allowed_origins[0] == "*" && config.service.require_api_key)
        warnings.emplace_back(
            "service.cors.allowed_origins is * while API keys are required: any web page "
            "can call the API with a key a browser holds");
    return warnings;
}

HttpResponse validate_config(HandlerContext &context, const Call &call) {
    const JsonPtr body =
        parse_body(call.request, "{\"config\": {\"model\": {\"provider\": \"zhipu\"}}}");
    if (!json_is_object(body.get()))
        throw Error(ErrorCode::InvalidRequest,
                    std::string("the request body must be a JSON object (got ") +
                        json_type_name(body.get()) + ")");
    Config candidate = context.config;
    std::vector<std::string> errors =
        apply_config_json(candidate, partial_config(body.get()), "config");
    if (errors.empty()) {
        try {
            resolve_model(candidate.model);
        } catch (const Error &e) {
            errors.emplace_back(e.what());
        }
    }
    const std::vector<std::string> warnings =
        errors.empty() ? warnings_for(candidate) : std::vector<std::string>{};
    JsonPtr reply(json_pack("{s:b,s:o,s:o}", "valid", errors.empty(), "errors", string_list(errors),
                            "warnings", string_list(warnings)));
    return json_response(200, reply.get());
}

} // namespace

std::vector<Route> config_routes() {
    return {
        {Method::Get, "/api/v1/config", Scope::Admin, get_config},
        {Method::Put, "/api/v1/config", Scope::Admin, update_config_handler},
        {Method::Put, "/api/v1/config/model", Scope::Admin, update_model},
        {Method::Post, "/api/v1/config/validate", Scope::Admin, validate_config},
    };
}

} // namespace tr::fcgi
