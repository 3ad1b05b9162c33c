// GET /api/v1/session: who the caller is, for the web console: whether the service asks for a
// key at all, the key's owner and scopes. The console hides what the key may not do (a read
// key sees no action buttons); the routes still check every request, so this is a courtesy,
// not the protection.
#include "fcgi/handlers/routes.h"

namespace tr::fcgi {
namespace {

HttpResponse get_session(HandlerContext &context, const Call &call) {
    const Principal &caller = call.principal;
    JsonPtr scopes(json_array());
    for (const Scope scope : {Scope::Read, Scope::Submit, Scope::Admin})
        if (caller.has(scope))
            json_array_append_new(scopes.get(), json_string(to_string(scope)));
    const bool required = context.config.service.require_api_key;
    JsonPtr body(json_pack("{s:b,s:o,s:o,s:O}", "auth_required", required, "owner",
                           required ? json_text(caller.owner) : json_null(), "key_id",
                           required ? json_text(caller.key_id) : json_null(), "scopes",
                           scopes.get()));
    return json_response(200, body.get());
}

} // namespace

std::vector<Route> session_routes() {
    return {{Method::Get, "/api/v1/session", Scope::Read, get_session}};
}

} // namespace tr::fcgi
