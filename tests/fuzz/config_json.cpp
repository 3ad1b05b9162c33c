// Fuzz target: the JSON settings of PUT /api/v1/config, PUT /api/v1/config/model and POST
// /api/v1/config/validate, from raw bytes as the handlers take them, against a database of
// their own (emptied of settings after every input, so each input starts from the same state).
//
// Beyond not crashing, for every input:
//  - a refusal is InvalidRequest, answered as JSON;
//  - what is stored applies again when the service restarts (apply_config_overrides), and the
//    model it gives still resolves: a stored setting must never keep the service from starting
//    or fail every task;
//  - the configured model key (from the file) reaches only the scheme, host and port it was
//    configured for, as libcurl (which makes the call) reads the URL, not only as url_host does;
//  - an endpoint set through the API names a host of model.allowed_endpoint_hosts, again as
//    libcurl reads it.
#include "core/config.h"
#include "core/config_store.h"
#include "core/db.h"
#include "core/json.h"
#include "core/migrate.h"
#include "core/model.h"
#include "fcgi/handlers/common.h"
#include "fcgi/http.h"
#include "fuzz_support.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tr::fuzz {
namespace {

constexpr const char *configured_key = "sk-configured-key-0123456789";

struct World {
    test::TempDir dir;
    Config config;
    std::optional<Db> db;

    World() {
        for (const char *name : {"work", "readonly"})
            dir.make_dir(name);
        config = test::write_and_load_config(
            dir,
            "model = {\n"
            "    provider = \"openai\";\n"
            "    endpoint = \"https://llm.example.test/v1\";\n"
            "    api_key = \"" +
                std::string(configured_key) +
                "\";\n"
                "    allowed_endpoint_hosts = [\"llm.example.test\", \"api.openai.com\", "
                "\"127.0.0.1\"];\n"
                "};\n"
                "tools = {\n"
                "    working_directory = \"work\";\n"
                "    allowed_paths = [\"work\", \"readonly\"];\n"
                "    sandbox = \"none\";\n"
                "};\n"
                "storage = { database = \"data/tasks.db\"; };\n",
            test::environment_of());
        prepare_database_file(config.storage.database);
        db.emplace(config.storage.database);
        migrate(db->handle());
        // Nothing here needs to survive a crash: without fsync, an input takes a fraction of
        // the time.
        db->handle().exec("PRAGMA synchronous = OFF");
    }

    void forget_settings() {
        db->handle().exec("DELETE FROM config_overrides; "
                          "DELETE FROM config_changes");
    }
};

World &world() {
    static World instance;
    return instance;
}

void check_refusal(const Error &error) {
    require(error.code() == ErrorCode::InvalidRequest,
            std::string("a setting was refused with ") + error.code_name() + ": " + error.what());
    const fcgi::HttpResponse response = fcgi::error_response(error);
    require(response.status == 400, "a refusal is not answered 400");
    parse_json(response.body);
}

// Scheme, host and port of a URL as libcurl reads it, or nullopt when libcurl refuses it.
struct CurlOrigin {
    std::string scheme, host, port;
    bool operator==(const CurlOrigin &other) const {
        return scheme == other.scheme && host == other.host && port == other.port;
    }
};

std::optional<CurlOrigin> curl_origin(const std::string &url) {
    struct Free {
        void operator()(CURLU *handle) const noexcept { curl_url_cleanup(handle); }
    };
    const std::unique_ptr<CURLU, Free> handle(curl_url());
    if (curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
        return std::nullopt;
    const auto part = [&](CURLUPart which, unsigned flags) -> std::optional<std::string> {
        char *text = nullptr;
        if (curl_url_get(handle.get(), which, &text, flags) != CURLUE_OK)
            return std::nullopt;
        std::string value(text);
        curl_free(text);
        std::transform(value.begin(), value.end(), value.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        return value;
    };
    const auto scheme = part(CURLUPART_SCHEME, 0);
    const auto host = part(CURLUPART_HOST, 0);
    const auto port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
    if (!scheme || !host || !port)
        return std::nullopt;
    return CurlOrigin{*scheme, *host, *port};
}

// The URL the runner calls for a resolved model (runner/providers/openai.cpp, anthropic.cpp).
std::string called_url(const ResolvedModel &model) {
    return model.endpoint +
           (model.wire == WireFormat::Anthropic ? "/messages" : "/chat/completions");
}

// What the next task would run with, checked against the invariants above.
void check_effective(const Config &running, bool key_given) {
    World &w = world();
    const JsonPtr stored = stored_config_overrides(*w.db);
    const std::optional<std::string> stored_endpoint =
        json_string_member(stored.get(), "model.endpoint");
    ResolvedModel resolved;
    try {
        resolved = resolve_model(live_config(running, *w.db).model);
    } catch (const Error &e) {
        broken(std::string("stored model settings do not resolve: ") + e.what());
    }
    if (resolved.wire == WireFormat::Builtin)
        return;
    const std::optional<CurlOrigin> called = curl_origin(called_url(resolved));
    if (!called)
        return; // libcurl will refuse the call: nothing is sent anywhere
    if (!key_given && resolved.api_key == configured_key) {
        const std::optional<CurlOrigin> configured =
            curl_origin(called_url(resolve_model(running.model)));
        require(configured && *called == *configured,
                "the configured key would go to " + called->scheme + "://" + called->host + ":" +
                    called->port + " (endpoint \"" + resolved.endpoint + "\")");
    }
    if (stored_endpoint && !stored_endpoint->empty()) {
        const auto &allowed = running.model.allowed_endpoint_hosts;
        std::string host = called->host;
        if (host.size() > 2 && host.front() == '[' && host.back() == ']')
            host = host.substr(1, host.size() - 2);
        require(std::find(allowed.begin(), allowed.end(), host) != allowed.end(),
                "an endpoint set through the API reaches host \"" + called->host +
                    "\", which model.allowed_endpoint_hosts does not list (endpoint \"" +
                    *stored_endpoint + "\")");
    }
}

// After a change was stored: a restart applies it, and the model still resolves.
void check_restart(bool key_given) {
    World &w = world();
    Config restarted = w.config;
    try {
        apply_config_overrides(restarted, *w.db);
    } catch (const Error &e) {
        broken(std::string("stored settings keep the service from starting: ") + e.what());
    }
    check_effective(restarted, key_given);
}

const json_t *partial_config(const json_t *body) {
    const json_t *wrapped = json_object_get(body, "config");
    return json_is_object(wrapped) && json_object_size(body) == 1 ? wrapped : body;
}

// Whether a model body sets a key of its own (null goes back to the configured one).
bool sets_key(const json_t *model) {
    return json_is_string(json_object_get(model, "api_key"));
}

void put_config(const json_t *body) {
    World &w = world();
    try {
        update_config(*w.db, w.config, partial_config(body), "fuzz", Clock::now());
    } catch (const Error &e) {
        check_refusal(e);
        return;
    }
    check_restart(sets_key(json_object_get(partial_config(body), "model")));
}

void put_model(const json_t *body) {
    World &w = world();
    if (!json_is_object(body))
        return; // the handler refuses it before anything else (fcgi/handlers/config.cpp)
    try {
        const JsonPtr partial(json_pack("{s:O}", "model", body));
        update_config(*w.db, w.config, partial.get(), "fuzz", Clock::now());
    } catch (const Error &e) {
        check_refusal(e);
        return;
    }
    check_restart(sets_key(body));
}

void validate(const json_t *body) {
    if (!json_is_object(body))
        return;
    Config candidate = world().config;
    const std::vector<std::string> problems =
        apply_config_json(candidate, partial_config(body), "config");
    for (const std::string &problem : problems)
        require(!problem.empty(), "an empty problem");
    if (problems.empty()) {
        try {
            resolve_model(candidate.model);
        } catch (const Error &e) {
            check_refusal(e);
        }
    }
}

} // namespace
} // namespace tr::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace tr::fuzz;
    World &w = world();
    tr::fcgi::HttpRequest http;
    http.method = "PUT";
    http.path = "/api/v1/config";
    http.body = std::string(as_text(data, size));
    tr::JsonPtr body;
    try {
        body = tr::fcgi::parse_body(http, "{}");
    } catch (const tr::Error &e) {
        check_refusal(e);
        return 0;
    }
    validate(body.get());
    put_config(body.get());
    w.forget_settings();
    put_model(body.get());
    w.forget_settings();
    return 0;
}
