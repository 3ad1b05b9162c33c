// Which model runs a task: the configured model settings, overridden by those set through
// PUT /api/v1/config/model (stored in SQLite, read per task), resolved through the provider
// presets into a wire format, an endpoint, a model name and a key.
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
#include "core/db.h"
#include "core/json.h"
#include "core/time.h"

#include <optional>
#include <string>

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

// The settings stored by PUT /api/v1/config/model; absent ones are not overridden.
struct ModelOverrides {
    std::optional<std::string> provider;
    std::optional<std::string> model_name;
    std::optional<std::string> api_key;
    std::optional<std::string> endpoint;
    std::optional<int> max_tokens;
    std::optional<double> temperature;
};

ModelOverrides load_model_overrides(Db &db);

// The configured model with the stored overrides on top: what the next task runs with.
ModelConfig effective_model(const ModelConfig &configured, const ModelOverrides &overrides);

// Validates a PUT /api/v1/config/model body against `config` (with the current overrides
// applied) and returns the new overrides: the stored ones with the body's fields replaced.
// Throws Error(InvalidRequest) listing every problem.
ModelOverrides merge_model_update(const Config &config, const ModelOverrides &current,
                                  const json_t *body);

// Stores the overrides and records the change (secrets as set/unset) in config_changes, in one
// transaction.
void store_model_overrides(Db &db, const ModelOverrides &overrides, const json_t *body,
                           const std::string &key_id, TimePoint now);

// The model settings as shown to clients: the key only as set or unset.
JsonPtr describe_model(const ModelConfig &model);

// "https://api.openai.com/v1" -> "api.openai.com": for allow-lists and messages.
std::optional<std::string> url_host(const std::string &url);

} // namespace tr
