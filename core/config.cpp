// Loading the configuration. One table below names every setting once: its type, range or
// choices, the environment variable that overrides it and whether it is a path. Reading the
// file, applying the environment and validating are all driven by that table, so a new setting
// is one new row.
#include "core/config.h"

#include "core/callback_url.h"
#include "core/error.h"
#include "core/install_layout.h"
#include "core/model.h"
#include "core/paths.h"
#include "core/strings.h"

#include <libconfig.h++>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <set>
#include <sstream>
#include <variant>

#ifndef TR_DEFAULT_CONFIG
#define TR_DEFAULT_CONFIG "config/task-runner.cfg"
#endif
#ifndef TR_BUILD_PROGRAM_DIR
#define TR_BUILD_PROGRAM_DIR ""
#endif

namespace tr {
namespace {

template <typename T> using Accessor = T &(*)(Config &);
using StringList = std::vector<std::string>;
using Field = std::variant<Accessor<bool>, Accessor<int>, Accessor<double>, Accessor<std::string>,
                           Accessor<StringList>>;

struct Setting {
    Setting(const char *path_, Field field_) : path(path_), field(field_) {}

    const char *path;
    Field field;
    double min = 0; // numbers: inclusive range
    double max = 0;
    std::vector<std::string> choices; // strings: allowed values; empty allows any
    const char *env = nullptr;        // environment variable that overrides the file
    bool is_path = false;             // relative values resolve against the config's directory
    bool secret = false;              // shown only as "set" or "unset"
    bool live = false;                // set through the API, the next task uses it (config.h)
};

Setting secret(Setting setting) {
    setting.secret = true;
    return setting;
}

Setting live(Setting setting) {
    setting.live = true;
    return setting;
}

Setting integer(const char *path, Accessor<int> field, double min, double max,
                const char *env = nullptr) {
    Setting setting{path, field};
    setting.min = min;
    setting.max = max;
    setting.env = env;
    return setting;
}

Setting real(const char *path, Accessor<double> field, double min, double max) {
    Setting setting{path, field};
    setting.min = min;
    setting.max = max;
    return setting;
}

Setting boolean(const char *path, Accessor<bool> field, const char *env = nullptr) {
    Setting setting{path, field};
    setting.env = env;
    return setting;
}

Setting text(const char *path, Accessor<std::string> field, const char *env = nullptr,
             std::vector<std::string> choices = {}) {
    Setting setting{path, field};
    setting.env = env;
    setting.choices = std::move(choices);
    return setting;
}

Setting strings(const char *path, Accessor<StringList> field, const char *env = nullptr) {
    Setting setting{path, field};
    setting.env = env;
    return setting;
}

template <typename T> Setting path_setting(const char *path, Accessor<T> field) {
    Setting setting{path, field};
    setting.is_path = true;
    return setting;
}

// clang-format off
// One table per section of the file, in the file's order.
std::vector<Setting> model_settings() {
    return {
        live(text("model.provider", [](Config &c) -> std::string & { return c.model.provider; }, "TASK_RUNNER_MODEL_PROVIDER",
                  {"auto", "builtin", "openai", "anthropic", "zhipu", "local"})),
        live(text("model.model_name", [](Config &c) -> std::string & { return c.model.model_name; }, "TASK_RUNNER_MODEL_NAME")),
        live(secret(text("model.api_key", [](Config &c) -> std::string & { return c.model.api_key; }, "TASK_RUNNER_API_KEY"))),
        live(text("model.endpoint", [](Config &c) -> std::string & { return c.model.endpoint; }, "TASK_RUNNER_MODEL_ENDPOINT")),
        live(integer("model.max_tokens", [](Config &c) -> int & { return c.model.max_tokens; }, 1, 1000000)),
        live(real("model.temperature", [](Config &c) -> double & { return c.model.temperature; }, 0, 2)),
        strings("model.allowed_endpoint_hosts", [](Config &c) -> StringList & { return c.model.allowed_endpoint_hosts; }),
        integer("model.timeout_seconds", [](Config &c) -> int & { return c.model.timeout_seconds; }, 1, 3600),
    };
}

std::vector<Setting> execution_settings() {
    return {
        integer("execution.max_steps", [](Config &c) -> int & { return c.execution.max_steps; }, 1, 1000),
        integer("execution.max_retries", [](Config &c) -> int & { return c.execution.max_retries; }, 0, 20),
        real("execution.retry_delay_seconds", [](Config &c) -> double & { return c.execution.retry_delay_seconds; }, 0, 300),
        integer("execution.timeout_seconds", [](Config &c) -> int & { return c.execution.timeout_seconds; }, 1, 86400),
        integer("execution.max_tokens_per_task", [](Config &c) -> int & { return c.execution.max_tokens_per_task; }, 1, 100000000),
        integer("execution.poll_interval_ms", [](Config &c) -> int & { return c.execution.poll_interval_ms; }, 10, 10000),
        integer("execution.lease_seconds", [](Config &c) -> int & { return c.execution.lease_seconds; }, 5, 3600),
        integer("execution.shutdown_grace_seconds", [](Config &c) -> int & { return c.execution.shutdown_grace_seconds; }, 0, 3600),
    };
}

std::vector<Setting> tools_settings() {
    return {
        boolean("tools.enable_file_operations", [](Config &c) -> bool & { return c.tools.enable_file_operations; }),
        boolean("tools.enable_command_execution", [](Config &c) -> bool & { return c.tools.enable_command_execution; }),
        path_setting<std::string>("tools.working_directory", [](Config &c) -> std::string & { return c.tools.working_directory; }),
        path_setting<StringList>("tools.allowed_paths", [](Config &c) -> StringList & { return c.tools.allowed_paths; }),
        path_setting<StringList>("tools.writable_paths", [](Config &c) -> StringList & { return c.tools.writable_paths; }),
        strings("tools.forbidden_commands", [](Config &c) -> StringList & { return c.tools.forbidden_commands; }),
        integer("tools.command_timeout_seconds", [](Config &c) -> int & { return c.tools.command_timeout_seconds; }, 1, 86400),
        integer("tools.max_output_bytes", [](Config &c) -> int & { return c.tools.max_output_bytes; }, 1024, 16 * 1024 * 1024),
        integer("tools.max_file_bytes", [](Config &c) -> int & { return c.tools.max_file_bytes; }, 1, 1024 * 1024 * 1024),
        integer("tools.max_task_write_bytes", [](Config &c) -> int & { return c.tools.max_task_write_bytes; }, 4096, INT_MAX),
        integer("tools.memory_limit_mb", [](Config &c) -> int & { return c.tools.memory_limit_mb; }, 16, 1024 * 1024),
        integer("tools.max_processes", [](Config &c) -> int & { return c.tools.max_processes; }, 8, 65536),
        integer("tools.cpu_quota_percent", [](Config &c) -> int & { return c.tools.cpu_quota_percent; }, 1, 100000),
        text("tools.sandbox", [](Config &c) -> std::string & { return c.tools.sandbox; }, nullptr, {"auto", "bubblewrap", "none"}),
        text("tools.network", [](Config &c) -> std::string & { return c.tools.network; }, nullptr, {"none", "host"}),
        integer("tools.sandbox_uid", [](Config &c) -> int & { return c.tools.sandbox_uid; }, 1, INT_MAX),
        path_setting<std::string>("tools.workspace_root", [](Config &c) -> std::string & { return c.tools.workspace_root; }),
        strings("tools.shared_directories", [](Config &c) -> StringList & { return c.tools.shared_directories; }),
    };
}

std::vector<Setting> service_settings() {
    return {
        text("service.bind_address", [](Config &c) -> std::string & { return c.service.bind_address; }, "BIND_ADDRESS"),
        integer("service.max_concurrent_tasks", [](Config &c) -> int & { return c.service.max_concurrent_tasks; }, 1, 1024, "TASK_RUNNER_MAX_CONCURRENT_TASKS"),
        integer("service.default_task_timeout", [](Config &c) -> int & { return c.service.default_task_timeout; }, 1, 86400, "TASK_RUNNER_DEFAULT_TASK_TIMEOUT"),
        boolean("service.enable_metrics", [](Config &c) -> bool & { return c.service.enable_metrics; }, "TASK_RUNNER_ENABLE_METRICS"),
        text("service.log_level", [](Config &c) -> std::string & { return c.service.log_level; }, "TASK_RUNNER_LOG_LEVEL", {"debug", "info", "warn", "error"}),
        integer("service.handler_threads", [](Config &c) -> int & { return c.service.handler_threads; }, 1, 1024),
        integer("service.max_request_body_kb", [](Config &c) -> int & { return c.service.max_request_body_kb; }, 1, 64 * 1024),
        boolean("service.require_api_key", [](Config &c) -> bool & { return c.service.require_api_key; }, "TASK_RUNNER_REQUIRE_API_KEY"),
        integer("service.max_waiting_requests", [](Config &c) -> int & { return c.service.max_waiting_requests; }, 0, 1024),
        integer("service.max_stream_seconds", [](Config &c) -> int & { return c.service.max_stream_seconds; }, 1, 86400),
        integer("service.handler_timeout_seconds", [](Config &c) -> int & { return c.service.handler_timeout_seconds; }, 1, 3600),
        strings("service.allowed_hosts", [](Config &c) -> StringList & { return c.service.allowed_hosts; }),
        strings("service.cors.allowed_origins", [](Config &c) -> StringList & { return c.service.cors.allowed_origins; }, "TASK_RUNNER_CORS_ALLOWED_ORIGINS"),
        strings("service.cors.allowed_methods", [](Config &c) -> StringList & { return c.service.cors.allowed_methods; }),
        strings("service.cors.allowed_headers", [](Config &c) -> StringList & { return c.service.cors.allowed_headers; }),
        boolean("service.cors.allow_credentials", [](Config &c) -> bool & { return c.service.cors.allow_credentials; }),
        integer("service.cors.max_age_seconds", [](Config &c) -> int & { return c.service.cors.max_age_seconds; }, 0, 86400),
        integer("service.rate_limiting.requests_per_minute", [](Config &c) -> int & { return c.service.rate_limiting.requests_per_minute; }, 1, 1000000),
        integer("service.rate_limiting.burst_size", [](Config &c) -> int & { return c.service.rate_limiting.burst_size; }, 0, 1000000),
    };
}

std::vector<Setting> storage_settings() {
    return {
        path_setting<std::string>("storage.database", [](Config &c) -> std::string & { return c.storage.database; }),
        text("storage.synchronous", [](Config &c) -> std::string & { return c.storage.synchronous; }, nullptr, {"normal", "full"}),
        path_setting<std::string>("storage.run_dir", [](Config &c) -> std::string & { return c.storage.run_dir; }),
        integer("storage.retention_days", [](Config &c) -> int & { return c.storage.retention_days; }, 0, 36500),
        integer("storage.retention_days_by_status.completed", [](Config &c) -> int & { return c.storage.retention_days_by_status.completed; }, 0, 36500),
        integer("storage.retention_days_by_status.failed", [](Config &c) -> int & { return c.storage.retention_days_by_status.failed; }, 0, 36500),
        integer("storage.retention_days_by_status.cancelled", [](Config &c) -> int & { return c.storage.retention_days_by_status.cancelled; }, 0, 36500),
        integer("storage.retention_days_by_status.timeout", [](Config &c) -> int & { return c.storage.retention_days_by_status.timeout; }, 0, 36500),
        integer("storage.prune_interval_seconds", [](Config &c) -> int & { return c.storage.prune_interval_seconds; }, 1, 86400),
    };
}

std::vector<Setting> webhooks_settings() {
    return {
        integer("webhooks.timeout_seconds", [](Config &c) -> int & { return c.webhooks.timeout_seconds; }, 1, 300),
        integer("webhooks.retry_for_seconds", [](Config &c) -> int & { return c.webhooks.retry_for_seconds; }, 0, 7 * 86400),
        integer("webhooks.first_retry_delay_ms", [](Config &c) -> int & { return c.webhooks.first_retry_delay_ms; }, 10, 3600 * 1000),
        integer("webhooks.max_retry_delay_seconds", [](Config &c) -> int & { return c.webhooks.max_retry_delay_seconds; }, 1, 86400),
        integer("webhooks.max_response_bytes", [](Config &c) -> int & { return c.webhooks.max_response_bytes; }, 0, 16 * 1024 * 1024),
        strings("webhooks.allowed_hosts", [](Config &c) -> StringList & { return c.webhooks.allowed_hosts; }),
    };
}

// clang-format on

const std::vector<Setting> &settings() {
    static const std::vector<Setting> table = [] {
        std::vector<Setting> all;
        for (const std::vector<Setting> &section :
             {model_settings(), execution_settings(), tools_settings(), service_settings(),
              storage_settings(), webhooks_settings()})
            all.insert(all.end(), section.begin(), section.end());
        return all;
    }();
    return table;
}

const char *const known_groups[] = {
    "model",
    "execution",
    "tools",
    "service",
    "service.cors",
    "service.rate_limiting",
    "storage",
    "storage.retention_days_by_status", // per status: completed, failed, cancelled, timeout
    "webhooks",
};

// Enough digits for any int exactly: the default six turned 16777216 into "1.67772e+07".
std::string format_number(double value) {
    std::ostringstream text;
    text << std::setprecision(15) << value;
    return text.str();
}

const char *type_name(libconfig::Setting::Type type) {
    switch (type) {
    case libconfig::Setting::TypeInt:
    case libconfig::Setting::TypeInt64: return "an integer";
    case libconfig::Setting::TypeFloat: return "a number";
    case libconfig::Setting::TypeString: return "a string";
    case libconfig::Setting::TypeBoolean: return "a boolean";
    case libconfig::Setting::TypeGroup: return "a group";
    case libconfig::Setting::TypeArray: return "an array";
    case libconfig::Setting::TypeList: return "a list";
    default: return "nothing";
    }
}

// libconfig++ converts only between identical types unless auto-conversion is on, which
// would also accept 1.5 for an integer; so integers are read by their exact type.
long long integer_value(const libconfig::Setting &value) {
    if (value.getType() == libconfig::Setting::TypeInt64)
        return static_cast<long long>(value);
    return static_cast<int>(value);
}

// A setting's value as it came, from the file or from JSON, asked the same questions, so that
// one reader (Loader::read_value) checks and converts both the same way.
class FileValue {
public:
    explicit FileValue(const libconfig::Setting &value) : value_(value) {}
    const char *type() const { return type_name(value_.getType()); }
    bool is_boolean() const { return value_.getType() == libconfig::Setting::TypeBoolean; }
    bool boolean() const { return static_cast<bool>(value_); }
    bool is_integer() const {
        return value_.getType() == libconfig::Setting::TypeInt ||
               value_.getType() == libconfig::Setting::TypeInt64;
    }
    long long integer() const { return integer_value(value_); }
    bool is_number() const {
        return is_integer() || value_.getType() == libconfig::Setting::TypeFloat;
    }
    double number() const {
        return is_integer() ? static_cast<double>(integer()) : static_cast<double>(value_);
    }
    bool is_string() const { return value_.getType() == libconfig::Setting::TypeString; }
    std::string string() const { return static_cast<const char *>(value_); }
    bool is_list() const {
        return value_.getType() == libconfig::Setting::TypeArray ||
               value_.getType() == libconfig::Setting::TypeList;
    }
    int size() const { return value_.getLength(); }
    FileValue item(int index) const { return FileValue(value_[index]); }

private:
    const libconfig::Setting &value_;
};

class JsonValue {
public:
    explicit JsonValue(const json_t *value) : value_(value) {}
    const char *type() const { return json_type_name(value_); }
    bool is_boolean() const { return json_is_boolean(value_); }
    bool boolean() const { return json_is_true(value_); }
    bool is_integer() const { return json_is_integer(value_); }
    long long integer() const { return json_integer_value(value_); }
    bool is_number() const { return json_is_number(value_); }
    double number() const { return json_number_value(value_); }
    bool is_string() const { return json_is_string(value_); }
    std::string string() const {
        return std::string(json_string_value(value_), json_string_length(value_));
    }
    bool is_list() const { return json_is_array(value_); }
    int size() const { return static_cast<int>(json_array_size(value_)); }
    JsonValue item(int index) const {
        return JsonValue(json_array_get(value_, static_cast<std::size_t>(index)));
    }

private:
    const json_t *value_;
};

// An Origin as browsers send it (RFC 6454): scheme "://" host [":" port], nothing else. Only
// such a value can ever equal a request's Origin, and nginx's map of allowed origins takes it
// literally: an entry that starts with ~ is a regular expression there ("~." allows every
// origin), and "default" or "include" are the map's own parameters (tests/fuzz/config_file
// checks that).
bool is_origin(std::string_view text) {
    const std::size_t separator = text.find("://");
    if (separator == std::string_view::npos || separator == 0 || separator + 3 == text.size() ||
        !std::isalpha(static_cast<unsigned char>(text[0])))
        return false;
    for (const char c : text.substr(0, separator))
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.')
            return false;
    for (const char c : text.substr(separator + 3))
        if (!std::isalnum(static_cast<unsigned char>(c)) &&
            std::string_view("-._:[]").find(c) == std::string_view::npos)
            return false;
    return true;
}

// Collects every problem instead of stopping at the first, so one run shows them all.
class Loader {
public:
    Loader(Config &config, std::string display_path)
        : config_(config), display_path_(std::move(display_path)) {}

    void read_file(const libconfig::Config &file) {
        for (const Setting &setting : settings()) {
            if (!file.exists(setting.path))
                continue;
            const libconfig::Setting &value = file.lookup(setting.path);
            const std::string where = display_path_ + ":" + std::to_string(value.getSourceLine());
            if (read_value(setting, FileValue(value), where))
                config_.sources[setting.path] = where;
        }
        report_unknown(file.getRoot());
    }

    // A JSON object shaped like the file: {"model": {"provider": "openai"}, ...}.
    void read_json(const json_t *object, const std::string &prefix = "") {
        if (!json_is_object(object)) {
            problem_at(display_path_, (prefix.empty() ? std::string("the configuration") : prefix) +
                                          " must be an object (got " + json_type_name(object) +
                                          ")");
            return;
        }
        const char *key;
        json_t *value;
        json_object_foreach(const_cast<json_t *>(object), key, value) {
            const std::string path = prefix.empty() ? key : prefix + "." + key;
            if (is_known_group(path)) {
                read_json(value, path);
            } else if (const Setting *setting = find_setting(path)) {
                if (read_value(*setting, JsonValue(value), display_path_))
                    config_.sources[setting->path] = display_path_;
            } else {
                problem_at(display_path_, "unknown setting " + path + known_in(path));
            }
        }
    }

    void read_environment(const EnvLookup &env) {
        for (const Setting &setting : settings()) {
            if (!setting.env)
                continue;
            const std::optional<std::string> value = env(setting.env);
            if (!value)
                continue;
            if (parse_env_value(setting, *value))
                config_.sources[setting.path] =
                    setting.env; // a variable's name says where it came from
        }
    }

    void check_ranges() {
        for (const Setting &setting : settings())
            std::visit([&](auto accessor) { check(setting, accessor(config_)); }, setting.field);
    }

    void resolve_paths() {
        for (const Setting &setting : settings()) {
            if (!setting.is_path)
                continue;
            if (auto *text = std::get_if<Accessor<std::string>>(&setting.field)) {
                std::string &value = (*text)(config_);
                if (!value.empty())
                    value = absolute_path(value, config_.directory);
            } else if (auto *list = std::get_if<Accessor<StringList>>(&setting.field)) {
                for (std::string &value : (*list)(config_))
                    value = absolute_path(value, config_.directory);
            }
        }
    }

    void check_relations(bool directories = true) {
        const ServiceConfig &service = config_.service;
        if (service.default_task_timeout > config_.execution.timeout_seconds)
            problem("service.default_task_timeout",
                    "must not exceed execution.timeout_seconds (" +
                        std::to_string(service.default_task_timeout) + " > " +
                        std::to_string(config_.execution.timeout_seconds) + ")");
        check_addresses();
        check_waiting_requests();
        if (directories) {
            check_tool_paths();
            check_shared_directories();
        }
        check_allowed_hosts();
        check_cors();
        check_callback_hosts();
    }

    const std::vector<std::string> &problems() const { return problems_; }

private:
    void check_addresses() {
        const std::string &bind_address = config_.service.bind_address;
        if (!parse_bind_address(bind_address))
            problem("service.bind_address", "must be HOST:PORT or PORT with a port 1..65535 (got " +
                                                in_quotes(bind_address) + ")");
        // A server-side URL: only http(s), never with credentials in it (they would be logged).
        const std::string &endpoint = config_.model.endpoint;
        if (!endpoint.empty() && !url_host(endpoint))
            problem("model.endpoint",
                    "must be an http:// or https:// URL without credentials (got " +
                        in_quotes(endpoint) + ")");
    }

    void check_waiting_requests() {
        ServiceConfig &service = config_.service;
        // Unless set, waiting requests may take half the threads, however many there are.
        if (config_.sources.count("service.max_waiting_requests") == 0)
            service.max_waiting_requests = service.handler_threads / 2;
        else if (service.max_waiting_requests >= service.handler_threads)
            problem("service.max_waiting_requests",
                    "must be less than service.handler_threads (" +
                        std::to_string(service.max_waiting_requests) +
                        " >= " + std::to_string(service.handler_threads) +
                        "): waiting requests would leave no thread for the others");
    }

    void check_tool_paths() {
        ToolsConfig &tools = config_.tools;
        if (tools.allowed_paths.empty())
            problem("tools.allowed_paths", "must list at least one directory");
        // Unset, the working directory is the one writable place; [] makes none writable.
        const bool writable_set = config_.sources.count("tools.writable_paths") != 0;
        if (!writable_set)
            tools.writable_paths = {tools.working_directory};
        std::vector<std::string> roots = existing_directories("tools.allowed_paths");
        const std::vector<std::string> writable = writable_set
                                                      ? existing_directories("tools.writable_paths")
                                                      : resolve_roots(tools.writable_paths);
        roots.insert(roots.end(), writable.begin(), writable.end()); // writable is readable
        const std::optional<std::string> work = real_directory(tools.working_directory);
        if (!work)
            problem("tools.working_directory",
                    in_quotes(tools.working_directory) + " is not an existing directory");
        else if (!roots.empty() && !is_within_any(*work, roots))
            problem("tools.working_directory",
                    in_quotes(*work) + " is outside tools.allowed_paths and tools.writable_paths");
        if (!tools.workspace_root.empty() && !real_directory(tools.workspace_root))
            problem("tools.workspace_root",
                    in_quotes(tools.workspace_root) + " is not an existing directory");
    }

    void check_cors() {
        const ServiceConfig &service = config_.service;
        for (const std::string &origin : service.cors.allowed_origins)
            if (origin != "*" && !is_origin(origin))
                problem("service.cors.allowed_origins",
                        "entries must be \"*\" or an origin as browsers send it, scheme://host "
                        "or scheme://host:port, such as \"https://console.example.com\" (got " +
                            in_quotes(origin) + ")");
        const bool any_origin =
            std::find(service.cors.allowed_origins.begin(), service.cors.allowed_origins.end(),
                      "*") != service.cors.allowed_origins.end();
        if (any_origin && !service.require_api_key)
            problem("service.cors.allowed_origins",
                    "cannot contain \"*\" while service.require_api_key is false: every web page "
                    "could then read every task and its output; name the origins, or require "
                    "API keys");
        if (any_origin && service.cors.allow_credentials)
            problem("service.cors.allow_credentials",
                    "cannot be true while service.cors.allowed_origins contains \"*\" "
                    "(browsers reject credentials with a wildcard origin)");
    }

    // The resolved forms of a path list's entries, each missing one a problem.
    std::vector<std::string> existing_directories(const char *path) {
        const Setting *setting = find_setting(path);
        std::vector<std::string> found;
        for (const std::string &entry : std::get<Accessor<StringList>>(setting->field)(config_)) {
            if (std::optional<std::string> real = real_directory(entry))
                found.push_back(*real);
            else
                problem(path, "entry " + in_quotes(entry) + " is not an existing directory");
        }
        return found;
    }

    void check_shared_directories() {
        for (std::string &entry : config_.tools.shared_directories)
            check_shared_directory(entry);
    }

    // "owner:path": the path, relative to the file's directory, made absolute in place.
    void check_shared_directory(std::string &entry) {
        const std::size_t colon = entry.find(':');
        const std::string owner = entry.substr(0, colon);
        if (colon == std::string::npos || !is_owner_name(owner) || colon + 1 == entry.size()) {
            problem("tools.shared_directories",
                    "entries must be OWNER:DIRECTORY, such as \"alice:/srv/shared/team\" (got " +
                        in_quotes(entry) + ")");
            return;
        }
        const std::string path = absolute_path(entry.substr(colon + 1), config_.directory);
        if (!real_directory(path))
            problem("tools.shared_directories", "entry " + in_quotes(entry) + ": " +
                                                    in_quotes(path) +
                                                    " is not an existing directory");
        entry = owner + ":" + path;
    }

    void check_allowed_hosts() {
        for (const std::string &entry : config_.service.allowed_hosts) {
            if (entry == "*") {
                if (!config_.service.require_api_key)
                    problem("service.allowed_hosts",
                            "cannot contain \"*\" while service.require_api_key is false: a page "
                            "served from any name that resolves here (DNS rebinding) could then "
                            "drive the API");
                continue;
            }
            if (!parse_allowed_host(entry))
                problem("service.allowed_hosts",
                        "entries must be a host name or address, optionally with :port, such as "
                        "\"tasks.example.com\" or \"[::1]:8080\" (got " +
                            in_quotes(entry) + ")");
        }
    }

    void check_callback_hosts() {
        for (const std::string &entry : config_.webhooks.allowed_hosts)
            if (!is_callback_host_pattern(entry))
                problem("webhooks.allowed_hosts",
                        "entries must be a host name, \"*.\" and a domain, or an address, such "
                        "as \"hooks.example.com\", \"*.example.com\" or \"10.0.0.7\" (got " +
                            in_quotes(entry) + ")");
    }

    void problem(const std::string &path, const std::string &message) {
        problems_.push_back(config_.source_of(path) + ": " + path + " " + message);
    }

    void problem_at(const std::string &where, const std::string &message) {
        problems_.push_back(where + ": " + message);
    }

    // Checks `value` against the setting's type and stores it; a problem (at `where`) otherwise.
    template <typename Value>
    bool read_value(const Setting &setting, const Value &value, const std::string &where) {
        return std::visit(
            [&](auto accessor) { return store(accessor(config_), setting, value, where); },
            setting.field);
    }

    // store(target, ...): one per type of setting, for read_value.
    template <typename Value>
    bool store(bool &target, const Setting &setting, const Value &value, const std::string &where) {
        if (!value.is_boolean())
            return wrong_type(setting, value, where, "a boolean");
        target = value.boolean();
        return true;
    }

    template <typename Value>
    bool store(int &target, const Setting &setting, const Value &value, const std::string &where) {
        if (!value.is_integer())
            return wrong_type(setting, value, where, "an integer");
        const long long number = value.integer();
        if (number < INT_MIN || number > INT_MAX) // said here: the int would misquote it
            return out_of_range(where, setting, std::to_string(number));
        target = static_cast<int>(number);
        return true;
    }

    template <typename Value>
    bool store(double &target, const Setting &setting, const Value &value,
               const std::string &where) {
        if (!value.is_number())
            return wrong_type(setting, value, where, "a number");
        target = value.number();
        return true;
    }

    template <typename Value>
    bool store(std::string &target, const Setting &setting, const Value &value,
               const std::string &where) {
        if (!value.is_string())
            return wrong_type(setting, value, where, "a string");
        target = value.string();
        return true;
    }

    template <typename Value>
    bool store(StringList &target, const Setting &setting, const Value &value,
               const std::string &where) {
        if (!value.is_list())
            return wrong_type(setting, value, where, "a list of strings, such as [\"a\", \"b\"]");
        StringList items;
        for (int i = 0; i < value.size(); ++i) {
            if (!value.item(i).is_string())
                return wrong_item_type(setting, value, i, where);
            items.push_back(value.item(i).string());
        }
        target = std::move(items);
        return true;
    }

    template <typename Value>
    bool wrong_type(const Setting &setting, const Value &value, const std::string &where,
                    const char *expected) {
        problem_at(where, std::string(setting.path) + " must be " + expected + " (got " +
                              value.type() + ")");
        return false;
    }

    template <typename Value>
    bool wrong_item_type(const Setting &setting, const Value &list, int index,
                         const std::string &where) {
        problem_at(where, std::string(setting.path) + " must be a list of strings (item " +
                              std::to_string(index + 1) + " is " + list.item(index).type() + ")");
        return false;
    }

    bool parse_env_value(const Setting &setting, const std::string &text) {
        const std::string where = setting.env;
        return std::visit(
            [&](auto accessor) -> bool {
                using T = std::decay_t<decltype(accessor(config_))>;
                T &target = accessor(config_);
                if constexpr (std::is_same_v<T, bool>) {
                    if (text == "true" || text == "1" || text == "yes" || text == "on")
                        target = true;
                    else if (text == "false" || text == "0" || text == "no" || text == "off")
                        target = false;
                    else
                        return fail_env(where, setting, "true or false", text);
                } else if constexpr (std::is_same_v<T, int>) {
                    errno = 0;
                    char *end = nullptr;
                    const long long number = std::strtoll(text.c_str(), &end, 10);
                    // strtoll also takes leading blanks and '+'; a setting's value is digits.
                    if (text.empty() || (text[0] != '-' && (text[0] < '0' || text[0] > '9')) ||
                        *end != '\0' || errno == ERANGE)
                        return fail_env(where, setting, "an integer", text);
                    if (number < INT_MIN || number > INT_MAX)
                        return out_of_range(where, setting, text);
                    target = static_cast<int>(number);
                } else if constexpr (std::is_same_v<T, double>) {
                    char *end = nullptr;
                    const double number = std::strtod(text.c_str(), &end);
                    if (text.empty() || *end != '\0' || !std::isfinite(number))
                        return fail_env(where, setting, "a number", text);
                    target = number;
                } else if constexpr (std::is_same_v<T, std::string>) {
                    target = text;
                } else {
                    StringList items;
                    std::stringstream stream(text);
                    std::string item;
                    while (std::getline(stream, item, ','))
                        if (const std::string trimmed = trim(item); !trimmed.empty())
                            items.push_back(trimmed);
                    target = std::move(items);
                }
                return true;
            },
            setting.field);
    }

    bool out_of_range(const std::string &where, const Setting &setting, const std::string &got) {
        problem_at(where, std::string(setting.path) + " must be " + range_text(setting) + " (got " +
                              got + ")");
        return false;
    }

    bool fail_env(const std::string &where, const Setting &setting, const std::string &expected,
                  const std::string &text) {
        problem_at(where, std::string(setting.path) + " must be " + expected + " (got " +
                              in_quotes(text) + ")");
        return false;
    }

    template <typename T> void check(const Setting &setting, const T &value) {
        if constexpr (std::is_same_v<T, int> || std::is_same_v<T, double>) {
            if (value < setting.min || value > setting.max)
                problem(setting.path,
                        "must be " + range_text(setting) + " (got " + format_number(value) + ")");
        } else if constexpr (std::is_same_v<T, std::string>) {
            if (setting.choices.empty())
                return;
            for (const std::string &choice : setting.choices)
                if (value == choice)
                    return;
            problem(setting.path, "must be one of " + join(setting.choices, ", ") + " (got " +
                                      in_quotes(value) + ")");
        }
    }

    static std::string range_text(const Setting &setting) {
        return format_number(setting.min) + ".." + format_number(setting.max);
    }

    static std::string trim(const std::string &text) {
        const auto first = text.find_first_not_of(" \t");
        if (first == std::string::npos)
            return "";
        const auto last = text.find_last_not_of(" \t");
        return text.substr(first, last - first + 1);
    }

    void report_unknown(const libconfig::Setting &group) {
        for (int i = 0; i < group.getLength(); ++i)
            report_if_unknown(group[i]);
    }

    void report_if_unknown(const libconfig::Setting &setting) {
        const std::string path = setting.getPath();
        const std::string where = display_path_ + ":" + std::to_string(setting.getSourceLine());
        if (is_known_group(path)) {
            if (setting.isGroup())
                report_unknown(setting);
            else // "execution = 5;" is a known name in the wrong shape, not an unknown one
                problem_at(where, path + " must be a group, such as " + path + " = { ... }; (got " +
                                      type_name(setting.getType()) + ")");
            return;
        }
        if (!is_known_setting(path))
            problem_at(where, "unknown setting " + path + known_in(path));
    }

    static bool is_known_group(const std::string &path) {
        for (const char *known : known_groups)
            if (path == known)
                return true;
        return false;
    }

    static const Setting *find_setting(const std::string &path) {
        for (const Setting &setting : settings())
            if (path == setting.path)
                return &setting;
        return nullptr;
    }

    static bool is_known_setting(const std::string &path) { return find_setting(path) != nullptr; }

    // "(service.cors takes allowed_origins, allowed_methods, ...)": the fix for a typo.
    static std::string known_in(const std::string &path) {
        const auto dot = path.rfind('.');
        const std::string parent = dot == std::string::npos ? "" : path.substr(0, dot);
        std::vector<std::string> names;
        if (parent.empty()) {
            for (const char *group : known_groups)
                if (std::string(group).find('.') == std::string::npos)
                    names.emplace_back(group);
        } else {
            const auto add_child = [&](const std::string &candidate) {
                if (candidate.compare(0, parent.size() + 1, parent + ".") == 0 &&
                    candidate.find('.', parent.size() + 1) == std::string::npos)
                    names.push_back(candidate.substr(parent.size() + 1));
            };
            for (const Setting &setting : settings())
                add_child(setting.path);
            for (const char *group : known_groups) // service's cors and rate_limiting
                add_child(group);
        }
        if (names.empty())
            return "";
        return " (" + (parent.empty() ? std::string("the file") : parent) + " takes " +
               join(names, ", ") + ")";
    }

    Config &config_;
    std::string display_path_;
    std::vector<std::string> problems_;
};

} // namespace

std::string Config::source_of(const std::string &path) const {
    const auto found = sources.find(path);
    return found == sources.end() ? "default" : found->second;
}

EnvLookup process_environment() {
    return [](const char *name) -> std::optional<std::string> {
        const char *value = std::getenv(name);
        if (!value)
            return std::nullopt;
        return std::string(value);
    };
}

std::string default_config_path(const EnvLookup &env) {
    if (std::optional<std::string> path = env("TASK_RUNNER_CONFIG"); path && !path->empty())
        return *path;
    // An installed program reads its prefix's configuration, never the source tree it was
    // built from (which may be gone, or another version's).
    return default_config_for(program_directory(), TR_BUILD_PROGRAM_DIR, build_install_layout(),
                              TR_DEFAULT_CONFIG);
}

std::optional<BindAddress> parse_bind_address(std::string_view text) {
    BindAddress address;
    std::string_view port_text = text;
    const std::size_t colon = text.rfind(':');
    if (colon != std::string_view::npos) {
        std::string_view host = text.substr(0, colon);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
            host = host.substr(1, host.size() - 2);
        else if (host.find(':') != std::string_view::npos)
            return std::nullopt; // an IPv6 address needs brackets, as in URLs
        if (host.empty())
            return std::nullopt;
        address.host = std::string(host);
        port_text = text.substr(colon + 1);
    } else {
        address.host = "127.0.0.1";
    }
    // The host goes into nginx's listen directive as it is: a name or an address, nothing nginx
    // would read as more of its configuration ("127.0.0.1; error_log ...; listen 127.0.0.1:81"
    // was a bind address; found by tests/fuzz/config_file).
    const bool ipv6 = address.host.find(':') != std::string::npos; // only in brackets, above
    if (address.host.size() > 253 ||
        address.host.find_first_not_of(ipv6 ? "0123456789abcdefABCDEF:."
                                            : "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789.-") != std::string::npos)
        return std::nullopt;
    if (port_text.empty() || port_text.size() > 5)
        return std::nullopt;
    for (const char c : port_text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        address.port = address.port * 10 + (c - '0');
    }
    if (address.port < 1 || address.port > 65535)
        return std::nullopt;
    return address;
}

std::optional<AllowedHost> parse_allowed_host(std::string_view entry) {
    AllowedHost host;
    std::string_view name = entry;
    const std::size_t close = name.rfind(']');
    const std::size_t colon = name.rfind(':');
    if (colon != std::string_view::npos && (close == std::string_view::npos || colon > close)) {
        const std::string_view port = name.substr(colon + 1);
        if (port.empty() || port.size() > 5 ||
            port.find_first_not_of("0123456789") != std::string_view::npos)
            return std::nullopt;
        host.port = std::stoi(std::string(port));
        if (*host.port > 65535)
            return std::nullopt;
        name = name.substr(0, colon);
    }
    const bool bracketed = name.size() >= 2 && name.front() == '[' && name.back() == ']';
    const bool valid =
        bracketed
            ? name.find_first_not_of("[]0123456789abcdefABCDEF:.") == std::string_view::npos
            : !name.empty() && name.size() <= 253 &&
                  name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789.-") == std::string_view::npos;
    if (!valid)
        return std::nullopt;
    host.name = std::string(name);
    return host;
}

bool is_loopback_host(std::string_view host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

bool is_wildcard_host(std::string_view host) {
    return host == "0.0.0.0" || host == "::";
}

std::vector<std::string> effective_allowed_hosts(const ServiceConfig &service) {
    if (!service.allowed_hosts.empty())
        return service.allowed_hosts;
    const std::optional<BindAddress> bind = parse_bind_address(service.bind_address);
    if (!bind)
        return {};
    const std::string port = ":" + std::to_string(bind->port);
    const auto as_host = [](const std::string &host) {
        return host.find(':') != std::string::npos ? "[" + host + "]" : host;
    };
    std::vector<std::string> hosts;
    if (!is_wildcard_host(bind->host))
        hosts.push_back(as_host(bind->host) + port);
    if (is_loopback_host(bind->host) || is_wildcard_host(bind->host))
        for (const char *name : {"localhost", "127.0.0.1", "[::1]"})
            if (std::find(hosts.begin(), hosts.end(), name + port) == hosts.end())
                hosts.push_back(name + port);
    return hosts;
}

std::vector<std::string> config_environment_variables() {
    std::vector<std::string> names;
    for (const Setting &setting : settings())
        if (setting.env)
            names.emplace_back(setting.env);
    return names;
}

std::vector<std::string> apply_config_json(Config &config, const json_t *partial,
                                           const std::string &source, ConfigChecks checks) {
    Loader loader(config, source);
    loader.read_json(partial);
    loader.check_ranges();
    loader.resolve_paths();
    if (loader.problems().empty() && checks == ConfigChecks::Whole)
        loader.check_relations();
    return loader.problems();
}

JsonPtr config_to_json(const Config &config) {
    JsonPtr root(json_object());
    // The accessors are the loader's, which writes through them; here they are only read.
    Config &values = const_cast<Config &>(config);
    for (const Setting &setting : settings()) {
        json_t *group = root.get();
        std::string path = setting.path;
        for (std::size_t dot; (dot = path.find('.')) != std::string::npos;
             path = path.substr(dot + 1)) {
            const std::string name = path.substr(0, dot);
            json_t *child = json_object_get(group, name.c_str());
            if (!child) {
                child = json_object();
                json_object_set_new(group, name.c_str(), child);
            }
            group = child;
        }
        json_t *value = std::visit(
            [&](auto accessor) -> json_t * {
                using T = std::decay_t<decltype(accessor(values))>;
                const T &field = accessor(values);
                if constexpr (std::is_same_v<T, std::string>)
                    if (setting.secret)
                        return json_string(field.empty() ? "unset" : "set");
                if constexpr (std::is_same_v<T, bool>)
                    return json_boolean(field);
                else if constexpr (std::is_same_v<T, int>)
                    return json_integer(field);
                else if constexpr (std::is_same_v<T, double>)
                    return json_real(field);
                else if constexpr (std::is_same_v<T, std::string>)
                    return json_text(field);
                else {
                    json_t *list = json_array();
                    for (const std::string &item : field)
                        json_array_append_new(list, json_text(item));
                    return list;
                }
            },
            setting.field);
        json_object_set_new(group, path.c_str(), value);
    }
    return root;
}

std::vector<std::string> config_setting_paths() {
    std::vector<std::string> paths;
    for (const Setting &setting : settings())
        paths.emplace_back(setting.path);
    return paths;
}

std::vector<std::string> live_setting_paths() {
    std::vector<std::string> paths;
    for (const Setting &setting : settings())
        if (setting.live)
            paths.emplace_back(setting.path);
    return paths;
}

bool is_live_setting(std::string_view path) {
    return std::any_of(settings().begin(), settings().end(), [&](const Setting &setting) {
        return setting.live && path == setting.path;
    });
}

bool is_secret_setting(std::string_view path) {
    return std::any_of(settings().begin(), settings().end(), [&](const Setting &setting) {
        return setting.secret && path == setting.path;
    });
}

Config load_config(const std::string &path, const EnvLookup &env) {
    return load_config(path, env, ConfigChecks::Whole);
}

Config load_config(const std::string &path, const EnvLookup &env, ConfigChecks checks) {
    Config config;
    config.file = absolute_path(path, current_directory());
    config.directory = parent_directory(config.file);

    libconfig::Config file;
    try {
        file.readFile(config.file.c_str());
    } catch (const libconfig::FileIOException &) {
        throw Error(ErrorCode::InvalidRequest,
                    system_error_text(path + ": cannot read config file", errno));
    } catch (const libconfig::ParseException &e) {
        throw Error(ErrorCode::InvalidRequest,
                    path + ":" + std::to_string(e.getLine()) + ": " + e.getError());
    }

    Loader loader(config, path);
    loader.read_file(file);
    loader.read_environment(env);
    loader.check_ranges();
    loader.resolve_paths();
    if (loader.problems().empty())
        loader.check_relations(checks != ConfigChecks::ExceptDirectories);
    if (!loader.problems().empty())
        throw Error(ErrorCode::InvalidRequest, join(loader.problems(), "\n"));
    return config;
}

} // namespace tr
