// GET /api/v1/tools: every tool with its description and JSON-schema parameters, whether this
// server enables it, and the sandbox its commands run in (as the live runners report it).
#include "fcgi/handlers/routes.h"

#include "core/runners.h"
#include "core/tool_catalog.h"

namespace tr::fcgi {
namespace {

HttpResponse list_tools(HandlerContext &context, const Call &) {
    std::string sandbox = summarize_runners(context.db, Clock::now()).sandbox;
    if (sandbox.empty())
        sandbox = "unknown (no runner is alive)";
    JsonPtr tools(json_array());
    for (const ToolInfo &tool : tool_catalog()) {
        const bool command = tool.kind == ToolKind::Command;
        json_array_append_new(
            tools.get(),
            json_pack("{s:s,s:s,s:s,s:o,s:b,s:s}", "name", tool.name, "description",
                      tool.description, "category", command ? "command" : "file", "parameters",
                      tool_parameters(tool).release(), "enabled",
                      tool_enabled(tool, context.config.tools), "sandbox",
                      command ? sandbox.c_str() : "openat2 beneath the allowed paths"));
    }
    JsonPtr body(json_pack("{s:O,s:s}", "tools", tools.get(), "sandbox", sandbox.c_str()));
    return json_response(200, body.get());
}

} // namespace

std::vector<Route> tool_routes() {
    return {{Method::Get, "/api/v1/tools", Scope::Read, list_tools}};
}

} // namespace tr::fcgi
