// config_overrides, the one store of settings changed through the API: reading, validating,
// storing. Live settings (the model's, config.h) are read again for every task; the others apply
// when a component starts.
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
    "webhooks.allowed_hosts", // what the runner may call: SSRF's list
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

// The group that holds the last name of "a.b.c" ({"c": ...} at "a.b"), borrowed; nullptr when
// there is none.
json_t *group_of(json_t *root, const std::string &path) {
    json_t *group = root;
    std::string rest = path;
    for (std::size_t dot; group && (dot = rest.find('.')) != std::string::npos;
         rest = rest.substr(dot + 1))
        group = json_object_get(group, rest.substr(0, dot).c_str());
    return json_is_object(group) ? group : nullptr;
}

std::string last_name(const std::string &path) {
    return path.substr(path.rfind('.') + 1); // npos + 1 == 0: the whole path
}

// The value at "a.b" of {"a": {"b": v}}, borrowed; nullptr when there is none.
json_t *value_at(json_t *root, const std::string &path) {
    json_t *group = group_of(root, path);
    return group ? json_object_get(group, last_name(path).c_str()) : nullptr;
}

// {"a": {"b": v}} without "a.b"; the emptied group stays, which apply_config_json takes as
// nothing.
void remove_path(json_t *root, const std::string &path) {
    if (json_t *group = group_of(root, path))
        json_object_del(group, last_name(path).c_str());
}

enum class Stored { ForRestart, Live, All };

// The stored overrides, shaped like the file: those applied at a component's start, the live
// ones (read again for every task), or both.
JsonPtr stored_as_tree(Db &db, Stored which) {
    JsonPtr tree(json_object());
    Query select = db.query("SELECT path, value FROM config_overrides ORDER BY path");
    while (select->executeStep()) {
        const std::string path = select->getColumn(0).getString();
        const bool live = is_live_setting(path);
        if ((which == Stored::Live && !live) || (which == Stored::ForRestart && live))
            continue;
        const JsonPtr value(
            json_loads(select->getColumn(1).getString().c_str(), JSON_DECODE_ANY, nullptr));
        // One stored before a setting became file-only is not applied (see file_only).
        if (value && !is_file_only(path))
            set_path(tree.get(), path, value.get());
    }
    return tree;
}

constexpr const char *stored_source = "stored setting (PUT /api/v1/config)";

[[noreturn]] void invalid(const std::string &message) {
    throw Error(ErrorCode::InvalidRequest, message);
}

// A requested change sorted by when it applies: live settings from the next task on, the others
// at the next start; those the API may not change are problems.
struct SortedChange {
    Leaves changed; // every setting it names, in the request's order; null reverts one
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
            continue;
        }
        if (is_file_only(path)) {
            sorted.problems.push_back(path + " can be changed only in the configuration file (it "
                                             "decides what tasks and clients can reach)");
            continue;
        }
        sorted.changed.emplace_back(path, value);
        (is_live_setting(path) ? sorted.update.applied_live : sorted.update.needs_restart)
            .push_back(path);
    }
    return sorted;
}

// The whole result must be valid: the running configuration, the stored overrides and this
// change together, and the model it leaves must be one a task can run with. Throws
// Error(InvalidRequest) listing every problem, the sort's included.
void check_change(Db &db, const Config &running, const SortedChange &sorted) {
    std::vector<std::string> problems = sorted.problems;
    JsonPtr stored = stored_as_tree(db, Stored::All);
    std::optional<std::string> changed_endpoint;
    for (const auto &[path, value] : sorted.changed) {
        if (json_is_null(value))
            remove_path(stored.get(), path);
        else
            set_path(stored.get(), path, value);
        if (path == "model.endpoint" && json_is_string(value))
            changed_endpoint = json_string_value(value);
    }
    Config candidate = running;
    for (const std::string &problem : apply_config_json(candidate, stored.get(), "request"))
        problems.push_back(problem);
    if (problems.empty() && !sorted.update.applied_live.empty()) {
        // The live settings as they will be stored, over the configured model alone: what the
        // next task runs with.
        JsonPtr live(json_object());
        for (const std::string &path : live_setting_paths())
            if (json_t *value = value_at(stored.get(), path))
                set_path(live.get(), path, value);
        const Config effective = with_live_settings(running, live.get(), "request");
        for (const std::string &problem :
             live_model_problems(running, effective.model, changed_endpoint))
            problems.push_back(problem);
    }
    if (!problems.empty())
        invalid(join(problems, "; "));
}

// The change as config_changes records it, secrets only as "(set)" or "(cleared)". A change of
// live settings alone is recorded as section "model", shaped like the model group (as PUT
// /api/v1/config/model always recorded it); any other as "config", shaped like the file.
std::pair<std::string, JsonPtr> audited(const SortedChange &sorted) {
    JsonPtr change(json_object());
    for (const auto &[path, value] : sorted.changed) {
        if (is_secret_setting(path)) {
            const JsonPtr shown(json_string(json_is_null(value) ? "(cleared)" : "(set)"));
            set_path(change.get(), path, shown.get());
        } else {
            set_path(change.get(), path, value);
        }
    }
    if (sorted.update.needs_restart.empty())
        return {"model", JsonPtr(json_incref(json_object_get(change.get(), "model")))};
    return {"config", std::move(change)};
}

// Stores (or, for null, removes) each changed override and records the change, in one
// transaction.
void store_overrides(Db &db, const SortedChange &sorted, const std::string &key_id,
                     const std::string &time) {
    SQLite::Transaction transaction(db.handle(), SQLite::TransactionBehavior::IMMEDIATE);
    for (const auto &[path, value] : sorted.changed) {
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
    const auto [section, change] = audited(sorted);
    record_config_change(db, section, change.get(), key_id, time);
    transaction.commit();
}

} // namespace

Config load_service_config(const std::string &path, const EnvLookup &env) {
    Config config = load_config(path, env);
    set_up_database(config.storage);
    Db db(config.storage);
    apply_config_overrides(config, db);
    return config;
}

void apply_config_overrides(Config &config, Db &db) {
    const JsonPtr stored = stored_as_tree(db, Stored::ForRestart);
    if (json_object_size(stored.get()) == 0)
        return;
    const std::vector<std::string> problems =
        apply_config_json(config, stored.get(), stored_source);
    if (!problems.empty())
        invalid(join(problems, "\n") + "\n(revert it with PUT /api/v1/config and a null value)");
}

Config live_config(const Config &running, Db &db) {
    const JsonPtr stored = stored_as_tree(db, Stored::Live);
    return with_live_settings(running, stored.get(), stored_source);
}

JsonPtr stored_config_overrides(Db &db) {
    JsonPtr overrides(json_object());
    Query select = db.query("SELECT path, value FROM config_overrides ORDER BY path");
    while (select->executeStep()) {
        const std::string path = select->getColumn(0).getString();
        if (is_secret_setting(path)) { // its value is the secret itself
            json_object_set_new(overrides.get(), path.c_str(), json_string("set"));
            continue;
        }
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
    if (sorted.changed.empty() && sorted.problems.empty())
        invalid("the request names no setting; send the settings to change, shaped like the "
                "config file: {\"execution\": {\"max_steps\": 20}}");
    check_change(db, running, sorted);
    store_overrides(db, sorted, key_id, format_utc(now));
    return std::move(sorted.update);
}

} // namespace tr
