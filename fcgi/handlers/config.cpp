// /api/v1/config: the model settings, changed without a restart (stored in SQLite, read by the
// runner for each task it starts) and audited.
#include "fcgi/handlers/routes.h"

#include "core/model.h"

namespace tr::fcgi {
namespace {

HttpResponse update_model(HandlerContext &context, const Call &call) {
    if (call.request.body.empty())
        throw Error(ErrorCode::InvalidRequest,
                    "the request body is empty; send the model settings to change, such as "
                    "{\"provider\": \"openai\", \"model_name\": \"gpt-4o-mini\"}");
    const JsonPtr body = parse_json(call.request.body);
    const ModelOverrides merged =
        merge_model_update(context.config, load_model_overrides(context.db), body.get());
    store_model_overrides(context.db, merged, body.get(), "", Clock::now());
    const ModelConfig effective = effective_model(context.config.model, merged);
    const ResolvedModel resolved = resolve_model(effective);
    JsonPtr reply(json_pack("{s:s,s:O,s:{s:s,s:s,s:s}}", "message",
                            "model settings updated; tasks started from now on use them", "model",
                            describe_model(effective).get(), "resolved", "provider",
                            resolved.provider.c_str(), "model", resolved.model.c_str(), "endpoint",
                            resolved.endpoint.c_str()));
    return json_response(200, reply.get());
}

} // namespace

std::vector<Route> config_routes() {
    return {{Method::Put, "/api/v1/config/model", update_model}};
}

} // namespace tr::fcgi
