// Which model runs a task: the configured model settings, overridden by the live ones set through
// PUT /api/v1/config (or its spelling PUT /api/v1/config/model; stored in config_overrides, read
// per task), resolved through the provider presets into a wire format, an endpoint, a model name
// and a key.
//
//   provider    wire       default endpoint                        default model  key
//   builtin     builtin    -                                       builtin-planner no
//   openai      openai     https://api.openai.com/v1               gpt-4o-mini     yes
//   anthropic   anthropic  https://api.anthropic.com/v1            claude-3-5-sonnet-latest yes
//   zhipu       openai     https://open.bigmodel.cn/api/paas/v4    glm-4           yes
//   local       openai     http://127.0.0.1:11434/v1 (Ollama)      llama3.1        no
//   auto        builtin without an api_key, openai with one
//
// Any other OpenAI-compatible service (DeepSeek, Moonshot, vLLM, llama.cpp's server) is
// `openai` with its `endpoint`.
#pragma once

#include "core/config.h"
#include "core/json.h"

#include <optional>
#include <string>
#include <vector>

namespace tr {

enum class WireFormat { Builtin, OpenAi, Anthropic };

struct ResolvedModel {
    std::string provider; // as configured, "auto" resolved: "openai", "zhipu", ...
    WireFormat wire = WireFormat::Builtin;
    std::string endpoint; // base URL without a trailing slash; empty for builtin
    std::string model;
    std::string api_key;
    int max_tokens = 0;
    double temperature = 0;
    int timeout_seconds = 0;
};

// Applies the presets. Throws Error(InvalidRequest) for a provider that needs a key and has
// none, or an endpoint that is not an http(s) URL.
ResolvedModel resolve_model(const ModelConfig &config);

// The configuration a task started now runs with: `configured` (defaults, file, environment,
// settings stored for a restart) with the live settings stored through the API on top. `stored`
// holds those, shaped like the file ({"model": {"endpoint": "..."}}); `source` names them in
// `sources`. A model key from the file or the environment goes only where it was configured for
// (scheme, host and port); a key set through the API goes wherever it is set.
// Throws Error(InvalidRequest) listing the stored settings that are no longer valid.
Config with_live_settings(const Config &configured, const json_t *stored,
                          const std::string &source);

// What is wrong with the model a change leaves (`effective`, from with_live_settings): it must
// resolve, with a key where its provider needs one, and an endpoint the change sets
// (`changed_endpoint`) must be on model.allowed_endpoint_hosts. Returns every problem.
std::vector<std::string> live_model_problems(const Config &configured, const ModelConfig &effective,
                                             const std::optional<std::string> &changed_endpoint);

// The model settings as shown to clients: the key only as set or unset.
JsonPtr describe_model(const ModelConfig &model);

// "https://api.openai.com/v1" -> "api.openai.com": for allow-lists and messages.
std::optional<std::string> url_host(const std::string &url);

} // namespace tr
