// Model presets, the API's overrides, and their audit trail.
#include "core/model.h"

#include "core/audit.h"
#include "core/error.h"
#include "core/strings.h"

#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <cctype>

namespace tr {
namespace {

struct Preset {
    const char *provider;
    WireFormat wire;
    const char *endpoint;
    const char *model;
    bool needs_key; // at its default endpoint; a self-hosted endpoint may need none
};

constexpr Preset presets[] = {
    {"openai", WireFormat::OpenAi, "https://api.openai.com/v1", "gpt-4o-mini", true},
    {"anthropic", WireFormat::Anthropic, "https://api.anthropic.com/v1", "claude-3-5-sonnet-latest",
     true},
    {"zhipu", WireFormat::OpenAi, "https://open.bigmodel.cn/api/paas/v4", "glm-4", true},
    {"local", WireFormat::OpenAi, "http://127.0.0.1:11434/v1", "llama3.1", false},
};

constexpr const char *overridable[] = {"provider", "model_name", "api_key",
                                       "endpoint", "max_tokens", "temperature"};

[[noreturn]] void invalid(const std::string &message) {
    throw Error(ErrorCode::InvalidRequest, message);
}

std::string without_trailing_slashes(std::string url) {
    while (!url.empty() && url.back() == '/')
        url.pop_back();
    return url;
}

} // namespace

std::optional<std::string> url_host(const std::string &url) {
    std::size_t start;
    if (url.rfind("http://", 0) == 0)
        start = 7;
    else if (url.rfind("https://", 0) == 0)
        start = 8;
    else
        return std::nullopt;
    const std::size_t end = std::min(url.find_first_of("/?#", start), url.size());
    const std::string authority = url.substr(start, end - start);
    // user:password@ would put a credential in every log line that names the endpoint.
    if (authority.empty() || authority.find('@') != std::string::npos ||
        std::any_of(url.begin(), url.end(),
                    [](char c) { return std::isspace(static_cast<unsigned char>(c)) || c < ' '; }))
        return std::nullopt;
    std::string host = authority;
    if (host.front() == '[') { // [::1]:8080
        const std::size_t close = host.find(']');
        if (close == std::string::npos)
            return std::nullopt;
        host = host.substr(1, close - 1);
    } else if (const std::size_t colon = host.rfind(':'); colon != std::string::npos) {
        host = host.substr(0, colon);
    }
    if (host.empty())
        return std::nullopt;
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return host;
}

ResolvedModel resolve_model(const ModelConfig &config) {
    ResolvedModel resolved;
    resolved.provider = config.provider;
    if (resolved.provider == "auto")
        resolved.provider = config.api_key.empty() ? "builtin" : "openai";
    resolved.max_tokens = config.max_tokens;
    resolved.temperature = config.temperature;
    resolved.timeout_seconds = config.timeout_seconds;
    if (resolved.provider == "builtin") {
        resolved.model = "builtin-planner";
        return resolved;
    }
    const Preset *preset = nullptr;
    for (const Preset &candidate : presets)
        if (resolved.provider == candidate.provider)
            preset = &candidate;
    if (!preset)
        invalid(
            "model.provider must be one of auto, builtin, openai, anthropic, zhipu, local (got \"" +
            resolved.provider + "\")");
    resolved.wire = preset->wire;
    resolved.model = config.model_name.empty() ? preset->model : config.model_name;
    resolved.endpoint =
        without_trailing_slashes(config.endpoint.empty() ? preset->endpoint : config.endpoint);
    resolved.api_key = config.api_key;
    if (!url_host(resolved.endpoint))
        invalid("model.endpoint must be an http:// or https:// URL without credentials (got \"" +
                config.endpoint + "\")");
    // The vendor's host needs a key however its URL is spelled (given explicitly, with a
    // trailing slash, in capitals); only another host (a proxy, a self-hosted server) may not.
    if (preset->needs_key && config.api_key.empty() &&
        url_host(resolved.endpoint) == url_host(preset->endpoint))
        invalid("model.provider " + resolved.provider +
                " needs model.api_key (or TASK_RUNNER_API_KEY) for " + preset->endpoint);
    return resolved;
}

ModelOverrides load_model_overrides(Db &db) {
    Query select =
        db.query("SELECT provider, model_name, api_key, endpoint, max_tokens, temperature "
                 "FROM model_settings WHERE id = 1");
    ModelOverrides overrides;
    if (!select->executeStep())
        return overrides;
    overrides.provider = optional_text(select->getColumn(0));
    overrides.model_name = optional_text(select->getColumn(1));
    overrides.api_key = optional_text(select->getColumn(2));
    overrides.endpoint = optional_text(select->getColumn(3));
    if (!select->getColumn(4).isNull())
        overrides.max_tokens = select->getColumn(4).getInt();
    if (!select->getColumn(5).isNull())
        overrides.temperature = select->getColumn(5).getDouble();
    return overrides;
}

namespace {

// "https://api.openai.com:443": scheme, host and port of a URL, the port spelled out. Another
// port of the same host can be another program; http instead of https, the key in clear.
std::optional<std::string> url_origin(const std::string &url) {
    const std::optional<std::string> host = url_host(url);
    if (!host)
        return std::nullopt;
    const bool https = url.rfind("https://", 0) == 0;
    const std::size_t start = https ? 8 : 7;
    const std::string authority = url.substr(start, url.find_first_of("/?#", start) - start);
    const std::size_t close = authority.rfind(']');
    const std::size_t colon = authority.rfind(':');
    std::string port = https ? "443" : "80";
    if (colon != std::string::npos && (close == std::string::npos || colon > close) &&
        colon + 1 < authority.size())
        port = authority.substr(colon + 1);
    return std::string(https ? "https" : "http") + "://" + *host + ":" + port;
}

// Where a model configuration sends its key: its endpoint's origin, else its provider's.
std::optional<std::string> key_origin(const ModelConfig &model) {
    if (!model.endpoint.empty())
        return url_origin(model.endpoint);
    const std::string provider = model.provider == "auto" ? "openai" : model.provider;
    for (const Preset &preset : presets)
        if (provider == preset.provider)
            return url_origin(preset.endpoint);
    return std::nullopt; // builtin: nowhere at all
}

} // namespace

ModelConfig effective_model(const ModelConfig &configured, const ModelOverrides &overrides) {
    ModelConfig model = configured;
    if (overrides.provider)
        model.provider = *overrides.provider;
    if (overrides.model_name)
        model.model_name = *overrides.model_name;
    if (overrides.api_key)
        model.api_key = *overrides.api_key;
    if (overrides.endpoint)
        model.endpoint = *overrides.endpoint;
    if (overrides.max_tokens)
        model.max_tokens = *overrides.max_tokens;
    if (overrides.temperature)
        model.temperature = *overrides.temperature;
    // A key from the file or the environment goes only where it was configured for (scheme,
    // host and port): otherwise the config API could point the model at any listener, which
    // would receive it with the first task. A key set through the API goes wherever it is set.
    if (!overrides.api_key && key_origin(model) != key_origin(configured))
        model.api_key.clear();
    return model;
}

namespace {

std::string overridable_names() {
    return join(std::vector<std::string>(std::begin(overridable), std::end(overridable)), ", ");
}

// A null in the body: the setting goes back to its configured value.
void reset_override(ModelOverrides &overrides, const std::string &name) {
    if (name == "provider")
        overrides.provider.reset();
    if (name == "model_name")
        overrides.model_name.reset();
    if (name == "api_key")
        overrides.api_key.reset();
    if (name == "endpoint")
        overrides.endpoint.reset();
    if (name == "max_tokens")
        overrides.max_tokens.reset();
    if (name == "temperature")
        overrides.temperature.reset();
}

// The body's settings without its nulls, for validation; each null resets its override in
// `merged`. Throws Error(InvalidRequest) unless the body is an object of model settings.
JsonPtr given_settings(const json_t *body, ModelOverrides &merged) {
    if (!json_is_object(body))
        invalid(std::string("the request body must be a JSON object of model settings (got ") +
                json_type_name(body) + ")");
    if (json_object_size(body) == 0)
        invalid("the request body names no model setting; it takes " + overridable_names());
    JsonPtr given(json_object());
    const char *key;
    json_t *value;
    json_object_foreach(const_cast<json_t *>(body), key, value) {
        const std::string name = key;
        if (std::find(std::begin(overridable), std::end(overridable), name) ==
            std::end(overridable))
            invalid("unknown field \"" + name.substr(0, 80) + "\" (the model settings are " +
                    overridable_names() + ")");
        if (json_is_null(value))
            reset_override(merged, name);
        else
            json_object_set(given.get(), key, value);
    }
    return given;
}

// The endpoint is a URL the server itself will call: an allow-list keeps the API from pointing
// it at arbitrary (internal) addresses.
void check_endpoint_allowed(const ModelConfig &configured, const json_t *given) {
    const std::optional<std::string> endpoint = json_string_member(given, "endpoint");
    const auto &allowed = configured.allowed_endpoint_hosts;
    if (!endpoint || endpoint->empty() || allowed.empty())
        return;
    const std::string host = url_host(*endpoint).value_or("");
    if (std::find(allowed.begin(), allowed.end(), host) == allowed.end())
        invalid("model.endpoint host \"" + host + "\" is not in model.allowed_endpoint_hosts (" +
                join(allowed, ", ") + ")");
}

// The given (and validated) settings into `merged`, the numbers as `validated` holds them.
void take_given(ModelOverrides &merged, const json_t *given, const ModelConfig &validated) {
    const auto text = [&](const char *name) { return json_string_member(given, name); };
    if (auto v = text("provider"))
        merged.provider = v;
    if (auto v = text("model_name"))
        merged.model_name = v;
    if (auto v = text("api_key"))
        merged.api_key = v;
    if (auto v = text("endpoint"))
        merged.endpoint = v;
    if (json_is_integer(json_object_get(given, "max_tokens")))
        merged.max_tokens = validated.max_tokens;
    if (json_is_number(json_object_get(given, "temperature")))
        merged.temperature = validated.temperature;
}

} // namespace

ModelOverrides merge_model_update(const Config &config, const ModelOverrides &current,
                                  const json_t *body) {
    ModelOverrides merged = current;
    const JsonPtr given = given_settings(body, merged);
    Config candidate = config;
    candidate.model = effective_model(config.model, merged);
    JsonPtr partial(json_pack("{s:O}", "model", given.get()));
    const std::vector<std::string> problems =
        apply_config_json(candidate, partial.get(), "request");
    if (!problems.empty())
        invalid(join(problems, "; "));
    resolve_model(candidate.model); // a provider needing a key without one is refused now
    check_endpoint_allowed(config.model, given.get());
    take_given(merged, given.get(), candidate.model);
    // What the next task runs with, resolved as the runner will resolve it: effective_model
    // withholds the configured key from another origin, and a provider that then has no key
    // would fail every task (found by tests/fuzz/config_json).
    const ModelConfig effective = effective_model(config.model, merged);
    try {
        resolve_model(effective);
    } catch (const Error &e) {
        if (effective.api_key.empty() && !config.model.api_key.empty())
            invalid(std::string(e.what()) + ": the configured model.api_key goes only to " +
                    key_origin(config.model).value_or("its own endpoint") +
                    "; send the api_key for this endpoint with it");
        throw;
    }
    return merged;
}

void store_model_overrides(Db &db, const ModelOverrides &overrides, const json_t *body,
                           const std::string &key_id, TimePoint now) {
    JsonPtr change(json_deep_copy(body));
    if (json_t *key = json_object_get(change.get(), "api_key"))
        json_object_set_new(change.get(), "api_key",
                            json_string(json_is_null(key) ? "(cleared)" : "(set)"));
    const std::string time = format_utc(now);
    SQLite::Transaction transaction(db.handle(), SQLite::TransactionBehavior::IMMEDIATE);
    {
        Query upsert = db.query(
            "INSERT INTO model_settings (id, provider, model_name, api_key, endpoint, max_tokens, "
            "temperature, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
            "SET "
            "provider = excluded.provider, model_name = excluded.model_name, api_key = "
            "excluded.api_key, "
            "endpoint = excluded.endpoint, max_tokens = excluded.max_tokens, "
            "temperature = excluded.temperature, updated_at = excluded.updated_at");
        const auto bind_text = [&](int index, const std::optional<std::string> &value) {
            if (value)
                upsert->bind(index, *value);
        };
        bind_text(1, overrides.provider);
        bind_text(2, overrides.model_name);
        bind_text(3, overrides.api_key);
        bind_text(4, overrides.endpoint);
        if (overrides.max_tokens)
            upsert->bind(5, *overrides.max_tokens);
        if (overrides.temperature)
            upsert->bind(6, *overrides.temperature);
        upsert->bind(7, time);
        upsert->exec();
        record_config_change(db, "model", change.get(), key_id, time);
    }
    transaction.commit();
}

JsonPtr describe_model(const ModelConfig &model) {
    return JsonPtr(
        json_pack("{s:s,s:s,s:s,s:s,s:i,s:f,s:i}", "provider", model.provider.c_str(), "model_name",
                  model.model_name.c_str(), "endpoint", model.endpoint.c_str(), "api_key",
                  model.api_key.empty() ? "unset" : "set", "max_tokens", model.max_tokens,
                  "temperature", model.temperature, "timeout_seconds", model.timeout_seconds));
}

} // namespace tr
