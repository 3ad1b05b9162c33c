// config_overrides: reading, validating, storing.
#include "core/config_store.h"

#include "core/audit.h"
#include "core/error.h"
#include "core/migrate.h"
#include "core/model.h"
#include "core/strings.h"

#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <string_view>

namespace tr {
namespace {

// Settings that decide what tasks and clients can reach: only whoever may edit the file may
// change them. Through the API (open to every local program when keys are off), they would let
// a request widen the grants, drop the sandbox, or open the edge to other origins and hosts.
constexpr const char *file_only[] = {
    "storage.",
    "tools.working_directory",
    "tools.allowed_paths",
    "tools.writable_paths",
    "tools.workspace_root",
    "tools.shared_directories",
    "tools.sandbox",
    "tools.sandbox_uid",
    "tools.network",
    "tools.enable_command_execution",
    "tools.enable_file_operations",
    "service.require_api_key",
    "service.allowed_hosts",
    "service.bind_address",
    "service.cors.",
    "model.allowed_endpoint_hosts",
};

bool is_file_only(const std::string &path) {
    for (const std::string_view only : file_only)
        if (only.back() == '.' ? path.rfind(only, 0) == 0 : path == only)
            return true;
    return false;
}

bool is_setting(const std::string &path) {
    const std::vector<std::string> paths = config_setting_paths();
    return std::find(paths.begin(), paths.end(), path) != paths.end();
}

using Leaves = std::vector<std::pair<std::string, json_t *>>; // a setting's path, its value

// {"service": {"cors": {"allowed_origins": [...]}}} -> {"service.cors.allowed_origins": [...]};
// objects under names that are not settings are walked into, anything else is a leaf.
void flatten(const json_t *object, const std::string &prefix, Leaves &leaves) {
    const char *key;
    json_t *value;
    json_object_foreach(const_cast<json_t *>(object), key, value) {
        const std::string path = prefix.empty() ? key : prefix + "." + key;
        if (json_is_object(value) && !is_setting(path))
            flatten(value, path, leaves);
        else
            leaves.emplace_back(path, value);
    }
}

// {"a.b": v} -> {"a": {"b": v}}
void set_path(json_t *root, const std::string &path, json_t *value) {
    json_t *group = root;
    std::string rest = path;
    for (std::size_t dot; (dot = rest.find('.')) != std::string::npos;
         rest = rest.substr(dot + 1)) {
        const std::string name = rest.substr(0, dot);
        json_t *child = json_object_get(group, name.c_str());
        if (!json_is_object(child)) {
            child = json_object();
            json_object_set_new(group, name.c_str(), child);
        }
        group = child;
    }
    json_object_set(group, rest.c_str(), value);
}

JsonPtr stored_as_tree(Db &db) {
    JsonPtr tree(json_object());
    Query select = db.query("SELECT path, value FROM config_overrides ORDER BY path");
    while (select->executeStep()) {
        const JsonPtr value(
            json_loads(select->getColumn(1).getString().c_str(), JSON_DECODE_ANY, nullptr));
        // One stored before a setting became file-only is not applied (see file_only).
        if (value && !is_file_only(select->getColumn(0).getString()))
            set_path(tree.get(), select->getColumn(0).getString(), value.get());
    }
    return tree;
}

[[noreturn]] void invalid(const std::string &message) {
    throw Error(ErrorCode::InvalidRequest, message);
}

// A requested change sorted by where it goes: model settings apply live (model_settings), the
// others are stored for the next start, and those the API may not change are problems.
struct SortedChange {
    JsonPtr model_body{json_object()}; // {"provider": ...}: the model settings without "model."
    JsonPtr others{json_object()};     // shaped like the file
    ConfigUpdate update;
    std::vector<std::string> problems;
};

SortedChange sort_change(const json_t *partial) {
    Leaves leaves;
    flatten(partial, "", leaves);
    SortedChange sorted;
    for (const auto &[path, value] : leaves) {
        if (path.rfind("storage.", 0) == 0) {
            sorted.problems.push_back(
                path +
                " cannot be changed through the API (it says where the API's own data lives)");
        } else if (is_file_only(path)) {
            sorted.problems.push_back(path + " can be changed only in the configuration file (it "
                                             "decides what tasks and clients can reach)");
        } else if (path.rfind("model.", 0) == 0 && path != "model.timeout_seconds") {
            json_object_set(sorted.model_body.get(), path.substr(6).c_str(), value);
            sorted.update.applied_live.push_back(path);
        } else {
            set_path(sorted.others.get(), path, value);
            sorted.update.needs_restart.push_back(path);
        }
    }
    return sorted;
}

bool has_model_change(const SortedChange &sorted) {
    return json_object_size(sorted.model_body.get()) > 0;
}

// The whole result must be valid: the running configuration, the stored overrides and this
// change (`changed`, the leaves of sorted.others). Returns the model settings to store; throws
// Error(InvalidRequest) listing every problem, the sort's included.
ModelOverrides check_change(Db &db, const Config &running, const SortedChange &sorted,
                            const Leaves &changed) {
    std::vector<std::string> problems = sorted.problems;
    Config candidate = running;
    JsonPtr stored = stored_as_tree(db);
    for (const auto &[path, value] : changed)
        if (!json_is_null(value))
            set_path(stored.get(), path, value);
    for (const std::string &problem : apply_config_json(candidate, stored.get(), "request"))
        problems.push_back(problem);
    ModelOverrides model;
    if (has_model_change(sorted)) {
        try {
            model =
                merge_model_update(candidate, load_model_overrides(db), sorted.model_body.get());
        } catch (const Error &e) { // one more problem, listed with the others
            problems.emplace_back(e.what());
        }
    }
    if (!problems.empty())
        invalid(join(problems, "; "));
    return model;
}

// The change as config_changes records it: a model key only as "(set)" or "(cleared)".
JsonPtr redacted(const json_t *partial) {
    JsonPtr change(json_deep_copy(partial));
    if (json_t *model_change = json_object_get(change.get(), "model"))
        if (json_t *key = json_object_get(model_change, "api_key"))
            json_object_set_new(model_change, "api_key",
                                json_string(json_is_null(key) ? "(cleared)" : "(set)"));
    return change;
}

// Stores (or, for null, removes) each changed override and records the change, in one
// transaction.
void store_overrides(Db &db, const Leaves &changed, const json_t *partial,
                     const std::string &key_id, const std::string &time) {
    SQLite::Transaction transaction(db.handle(), SQLite::TransactionBehavior::IMMEDIATE);
    for (const auto &[path, value] : changed) {
        if (json_is_null(value)) {
            Query remove = db.query("DELETE FROM config_overrides WHERE path = ?");
            remove->bind(1, path);
            remove->exec();
            continue;
        }
        Query upsert =
            db.query("INSERT INTO config_overrides (path, value, updated_at) VALUES (?, ?, ?) "
                     "ON CONFLICT (path) DO UPDATE SET value = excluded.value, updated_at = "
                     "excluded.updated_at");
        upsert->bind(1, path);
        upsert->bind(2, dump_json(value));
        upsert->bind(3, time);
        upsert->exec();
    }
    if (!changed.empty())
        record_config_change(db, "config", redacted(partial).get(), key_id, time);
    transaction.commit();
}

} // namespace

Config load_service_config(const std::string &path, const EnvLookup &env) {
    Config config = load_config(path, env);
    prepare_database_file(config.storage.database); // before any connection: see core/db.h
    Db db(config.storage.database, parse_durability(config.storage.synchronous));
    migrate(db.handle());
    apply_config_overrides(config, db);
    return config;
}

void apply_config_overrides(Config &config, Db &db) {
    const JsonPtr stored = stored_as_tree(db);
    if (json_object_size(stored.get()) == 0)
        return;
    const std::vector<std::string> problems =
        apply_config_json(config, stored.get(), "stored setting (PUT /api/v1/config)");
    if (!problems.empty())
        invalid(join(problems, "\n") + "\n(revert it with PUT /api/v1/config and a null value)");
}

JsonPtr stored_config_overrides(Db &db) {
    JsonPtr overrides(json_object());
    Query select = db.query("SELECT path, value FROM config_overrides ORDER BY path");
    while (select->executeStep()) {
        const std::string path = select->getColumn(0).getString();
        json_t *value =
            json_loads(select->getColumn(1).getString().c_str(), JSON_DECODE_ANY, nullptr);
        json_object_set_new(overrides.get(), path.c_str(), value ? value : json_null());
    }
    return overrides;
}

ConfigUpdate update_config(Db &db, const Config &running, const json_t *partial,
                           const std::string &key_id, TimePoint now) {
    if (!json_is_object(partial) || json_object_size(partial) == 0)
        invalid("send the settings to change, shaped like the config file: {\"execution\": "
                "{\"max_steps\": 20}}");
    SortedChange sorted = sort_change(partial);
    Leaves changed;
    flatten(sorted.others.get(), "", changed);
    const ModelOverrides model = check_change(db, running, sorted, changed);
    store_overrides(db, changed, partial, key_id, format_utc(now));
    // Model settings, with their own audit row, in a transaction of their own right after.
    if (has_model_change(sorted))
        store_model_overrides(db, model, sorted.model_body.get(), key_id, now);
    return std::move(sorted.update);
}

} // namespace tr
