// The service configuration: a libconfig file with the original's sections (model, execution,
// tools, service with cors and rate_limiting) plus storage, overridden by environment variables.
//
// Loaded once at start-up, validated whole, then passed down as `const Config &` and never
// mutated. Precedence, lowest first: built-in defaults (the member initializers below), the file,
// the environment. Settings changed through the API live in SQLite (core/config_store.h); the
// live ones (the model's) are read again for every task.
#pragma once

#include "core/json.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tr {

struct ModelConfig {
    // auto: builtin without an api_key, openai with one; builtin: the offline planner;
    // openai, anthropic: their wire formats; zhipu, local: openai presets (core/model.h).
    std::string provider = "auto";
    std::string model_name; // empty: the provider's default model
    std::string api_key;    // secret: never logged, never served
    std::string endpoint;   // base URL; empty: the provider's default
    int max_tokens = 4000;  // per model call
    double temperature = 0.7;
    int timeout_seconds = 120; // one model call, never beyond the task's deadline
    // Hosts an endpoint set through the API may name; empty: any. The endpoint is a URL the
    // server itself calls, so this keeps the config API from reaching arbitrary addresses.
    std::vector<std::string> allowed_endpoint_hosts;
};

struct ExecutionConfig {
    int max_steps = 10;
    int max_retries = 3;
    double retry_delay_seconds = 1;
    int timeout_seconds = 300;        // the hard ceiling of any task's wall-clock time
    int max_tokens_per_task = 200000; // input + output tokens of all model calls of one task
    // The fallback: a task queued on this host wakes the runners at once (core/wake_channel.h).
    int poll_interval_ms = 1000;
    int lease_seconds = 30;
    int shutdown_grace_seconds = 10;
};

struct ToolsConfig {
    bool enable_file_operations = true;
    bool enable_command_execution = true;
    std::string working_directory = ".";
    std::vector<std::string> allowed_paths{"."}; // readable
    std::vector<std::string> writable_paths;     // the only writable ones; unset: the
                                                 // working directory (load_config fills it)
    std::vector<std::string> forbidden_commands{"rm -rf", "format", "fdisk"};
    int command_timeout_seconds = 60;
    int max_output_bytes = 64 * 1024;
    int max_file_bytes = 10 * 1024 * 1024;        // one file read or written by the tools
    int max_task_write_bytes = 100 * 1024 * 1024; // a file a command writes; /tmp's size
    int memory_limit_mb = 1024;                   // all of a task's processes together
    int max_processes = 256;                      // all of a task's processes together
    int cpu_quota_percent = 100;                  // of one CPU, for all of them together
    std::string sandbox = "auto";                 // auto | bubblewrap | none
    std::string network = "none";                 // none | host
    int sandbox_uid = 65533;                      // commands' uid and gid when run by root
    // With API keys on, each owner's tasks work in <workspace_root>/<owner>/; unset: the working
    // directory. "owner:path" entries give an owner a shared directory as well.
    std::string workspace_root;
    std::vector<std::string> shared_directories;
};

struct CorsConfig {
    // Origins whose pages may read answers (the console is same-origin and needs none). "*" only
    // with service.require_api_key: without keys, any page could read every task.
    std::vector<std::string> allowed_origins;
    std::vector<std::string> allowed_methods{"GET", "POST", "DELETE"};
    std::vector<std::string> allowed_headers{"*"};
    bool allow_credentials = false;
    int max_age_seconds = 600;
};

struct RateLimitConfig {
    int requests_per_minute = 60;
    int burst_size = 10;
};

struct ServiceConfig {
    std::string bind_address = "127.0.0.1:8080";
    int max_concurrent_tasks = 10;
    int default_task_timeout = 300;
    bool enable_metrics = true;
    std::string log_level = "info";
    int handler_threads = 16;
    int max_request_body_kb = 1024;
    bool require_api_key = false;     // on in config/production.cfg
    int max_waiting_requests = 8;     // per handler process: ?wait=N and event streams; unset: half
                                      // of handler_threads
    int max_stream_seconds = 600;     // an event stream ends after this; the client resumes
    int handler_timeout_seconds = 90; // nginx answers 504 when a handler has not answered by then
    // Host header values answered (DNS rebinding sends an attacker's name to a loopback port):
    // "name" (any port) or "name:port"; "*" turns the check off (only with require_api_key).
    // Empty: the bind address's, and for a loopback or wildcard bind localhost, 127.0.0.1 and
    // [::1], each with the port (effective_allowed_hosts).
    std::vector<std::string> allowed_hosts;
    CorsConfig cors;
    RateLimitConfig rate_limiting;
};

// Days a finished task of each status is kept (storage.retention_days_by_status); 0: as
// storage.retention_days.
struct RetentionDays {
    int completed = 0;
    int failed = 0;
    int cancelled = 0;
    int timeout = 0;
};

struct StorageConfig {
    std::string database = "data/task-runner.db";
    std::string synchronous =
        "full";          // what an API answer survives: full, power loss; normal, a crash
    std::string run_dir; // sockets and nginx state; empty: a private temp dir
    // Finished tasks older than this (by their end time) are deleted by the runner, with their
    // steps and events (core/retention.h); 0: kept forever.
    int retention_days = 0;
    RetentionDays retention_days_by_status;
    int prune_interval_seconds = 300; // how often the runner looks for due tasks
};

// Callbacks (README "Webhooks"): what a delivery may take and where it may go.
struct WebhooksConfig {
    int timeout_seconds = 10;           // one attempt, from connecting to the last byte
    int retry_for_seconds = 3600;       // no attempt starts later than this after the first
    int first_retry_delay_ms = 1000;    // after the first failure; doubling after each
    int max_retry_delay_seconds = 600;  // the doubling stops here
    int max_response_bytes = 64 * 1024; // a longer answer is cut off: only its status matters
    // Hosts callbacks may reach: "name", "*.example.com" or an address; empty: any host with
    // public addresses. Loopback, private and other internal addresses are reached only through
    // an entry naming the host exactly, or the address itself (core/callback_url.h).
    std::vector<std::string> allowed_hosts;
};

struct Config {
    std::string file;      // the file it was loaded from, absolute
    std::string directory; // relative paths in the file resolve against this
    ModelConfig model;
    ExecutionConfig execution;
    ToolsConfig tools;
    ServiceConfig service;
    StorageConfig storage;
    WebhooksConfig webhooks;
    // Where each setting's value came from: "config/task-runner.cfg:14", "env BIND_ADDRESS" or
    // "default", keyed by its path ("execution.max_steps").
    std::map<std::string, std::string> sources;

    std::string source_of(const std::string &path) const;
};

// Reads environment variables; tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(const char *name)>;
EnvLookup process_environment();

// Loads, overrides and validates. Throws Error(InvalidRequest) whose message lists every
// problem, one per line, each with its place: "task-runner.cfg:14: execution.max_steps must be
// 1..1000 (got 0)" or "TASK_RUNNER_LOG_LEVEL: service.log_level must be one of ...".
// ConfigChecks::ExceptDirectories skips only whether the tools' directories exist (for
// `task-runner nginx-site`, which may render the edge before they are made).
enum class ConfigChecks;
Config load_config(const std::string &path, const EnvLookup &env = process_environment());
Config load_config(const std::string &path, const EnvLookup &env, ConfigChecks checks);

// What apply_config_json checks besides each value's type: ranges and choices always; the
// relations between settings (a working directory that exists inside the allowed paths, ...)
// for the whole result, or not (ValuesOnly: for the live settings applied to every task, over a
// configuration checked whole when it was loaded and when they were stored, so that a directory
// removed meanwhile cannot turn into a model problem of every task).
enum class ConfigChecks { Whole, ValuesOnly, ExceptDirectories };

// Applies a partial configuration given as JSON, shaped like the file ({"model": {"provider":
// "openai"}}), on top of `config`: unknown and ill-typed settings are problems, then ranges,
// choices and (for ConfigChecks::Whole) relations are checked for the whole result. Returns every
// problem, each prefixed with `source`; `config` holds the result (and `sources` says `source`
// for what it set).
std::vector<std::string> apply_config_json(Config &config, const json_t *partial,
                                           const std::string &source,
                                           ConfigChecks checks = ConfigChecks::Whole);

// The configuration shaped like the file, every setting included; secrets (model.api_key) only
// as "set" or "unset".
JsonPtr config_to_json(const Config &config);

// "model.provider", "execution.max_steps", ...: every setting, in the file's order.
std::vector<std::string> config_setting_paths();

// The settings that apply live: stored through PUT /api/v1/config, they are read again for every
// task (the model's provider, model_name, api_key, endpoint, max_tokens, temperature; marked in
// the settings table). The others take effect when a component starts.
std::vector<std::string> live_setting_paths();
bool is_live_setting(std::string_view path);

// Whether a setting is a secret, shown only as "set" or "unset" (model.api_key).
bool is_secret_setting(std::string_view path);

// The file to load when none is given: $TASK_RUNNER_CONFIG, else the build's default.
std::string default_config_path(const EnvLookup &env = process_environment());

// "127.0.0.1:8080", "[::1]:8080", "localhost:8080" or a bare "8080" (meaning 127.0.0.1).
struct BindAddress {
    std::string host;
    int port = 0;
};
std::optional<BindAddress> parse_bind_address(std::string_view text);

// Whether a bind host is loopback (127.0.0.0/8, ::1, localhost) or every interface (0.0.0.0, ::).
bool is_loopback_host(std::string_view host);
bool is_wildcard_host(std::string_view host);

// An entry of service.allowed_hosts: "name", "name:port", "1.2.3.4:port", "[v6]" or
// "[v6]:port"; nullopt when it is none of those ("*" included).
struct AllowedHost {
    std::string name; // with its brackets for IPv6: "[::1]"
    std::optional<int> port;
};
std::optional<AllowedHost> parse_allowed_host(std::string_view entry);

// service.allowed_hosts as configured, or the default it stands for (see ServiceConfig).
std::vector<std::string> effective_allowed_hosts(const ServiceConfig &service);

// The names of the environment variables that override settings, for documentation and tests.
std::vector<std::string> config_environment_variables();

} // namespace tr
