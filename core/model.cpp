// Model presets, and the live model settings stored through the API applied over the configured
// ones.
#include "core/model.h"

#include "core/error.h"
#include "core/strings.h"

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

Config with_live_settings(const Config &configured, const json_t *stored,
                          const std::string &source) {
    Config live = configured;
    if (json_object_size(stored) == 0)
        return live;
    const std::vector<std::string> problems =
        apply_config_json(live, stored, source, ConfigChecks::ValuesOnly);
    if (!problems.empty())
        invalid(join(problems, "; ") + " (revert it with PUT /api/v1/config and a null value)");
    // A key from the file or the environment goes only where it was configured for: otherwise
    // the config API could point the model at any listener, which would receive it with the
    // first task. A key set through the API goes wherever it is set.
    const bool key_stored =
        json_is_string(json_object_get(json_object_get(stored, "model"), "api_key"));
    if (!key_stored && key_origin(live.model) != key_origin(configured.model))
        live.model.api_key.clear();
    return live;
}

std::vector<std::string> live_model_problems(const Config &configured, const ModelConfig &effective,
                                             const std::optional<std::string> &changed_endpoint) {
    std::vector<std::string> problems;
    // The endpoint is a URL the server itself will call: an allow-list keeps the API from
    // pointing it at arbitrary (internal) addresses.
    const std::vector<std::string> &allowed = configured.model.allowed_endpoint_hosts;
    if (changed_endpoint && !changed_endpoint->empty() && !allowed.empty()) {
        const std::string host = url_host(*changed_endpoint).value_or("");
        if (std::find(allowed.begin(), allowed.end(), host) == allowed.end())
            problems.push_back("model.endpoint host \"" + host +
                               "\" is not in model.allowed_endpoint_hosts (" + join(allowed, ", ") +
                               ")");
    }
    // Resolved as the runner will resolve it: with_live_settings withholds the configured key
    // from another origin, and a provider that then has no key would fail every task (found by
    // tests/fuzz/config_json).
    try {
        resolve_model(effective);
    } catch (const Error &e) {
        if (effective.api_key.empty() && !configured.model.api_key.empty())
            problems.push_back(std::string(e.what()) +
                               ": the configured model.api_key goes only to " +
                               key_origin(configured.model).value_or("its own endpoint") +
                               "; send the api_key for this endpoint with it");
        else
            problems.emplace_back(e.what());
    }
    return problems;
}

JsonPtr describe_model(const ModelConfig &model) {
    return JsonPtr(
        json_pack("{s:s,s:s,s:s,s:s,s:i,s:f,s:i}", "provider", model.provider.c_str(), "model_name",
                  model.model_name.c_str(), "endpoint", model.endpoint.c_str(), "api_key",
                  model.api_key.empty() ? "unset" : "set", "max_tokens", model.max_tokens,
                  "temperature", model.temperature, "timeout_seconds", model.timeout_seconds));
}

} // namespace tr
