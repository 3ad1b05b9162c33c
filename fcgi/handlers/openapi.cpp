// GET /api/v1/openapi.json: the OpenAPI 3.1 description of this API (fcgi/openapi.json,
// compiled in). Open like /health: it documents, it reveals nothing about tasks.
#include "fcgi/handlers/routes.h"

#include "core/embedded_file.h"

namespace tr {
const std::vector<EmbeddedFile> &embedded_openapi_documents();
} // namespace tr

namespace tr::fcgi {
namespace {

HttpResponse openapi(HandlerContext &, const Call &) {
    HttpResponse response;
    response.body = embedded_openapi_documents().at(0).text;
    return response;
}

} // namespace

std::vector<Route> openapi_routes() {
    return {{Method::Get, "/api/v1/openapi.json", Scope::None, openapi}};
}

} // namespace tr::fcgi
