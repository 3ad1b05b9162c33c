// Settings changed through PUT /api/v1/config (and its spelling PUT /api/v1/config/model), kept
// in SQLite in one table, config_overrides. The live ones (the model's, config.h) apply from the
// next task on: every task reads them again (live_config). The others apply over the config file
// and the environment whenever a component starts. Precedence, lowest first: built-in defaults,
// the file, the environment, the API.
#pragma once

#include "core/config.h"
#include "core/db.h"
#include "core/json.h"
#include "core/time.h"

#include <string>
#include <vector>

namespace tr {

// What every component does at start-up: load the file and the environment, create and migrate
// the database the configuration names, and apply the settings stored through the API.
// Throws Error(InvalidRequest) listing every problem.
Config load_service_config(const std::string &path, const EnvLookup &env = process_environment());

// Applies the stored overrides that take effect at a start (not the live ones) to `config`.
// Throws Error(InvalidRequest) naming each stored setting that is no longer valid.
void apply_config_overrides(Config &config, Db &db);

// The configuration a task started now runs with: `running` with the live settings stored on
// top (core/model.h, with_live_settings). Throws Error(InvalidRequest) naming each stored live
// setting that is no longer valid.
Config live_config(const Config &running, Db &db);

struct ConfigUpdate {
    std::vector<std::string> applied_live;  // model settings: the next task uses them
    std::vector<std::string> needs_restart; // stored; take effect when the components restart
};

// Validates a partial configuration (shaped like the file; null reverts a setting) against the
// running configuration with what is stored, stores it and records it in config_changes (section
// "model" for live settings alone, else "config"; secrets as "(set)"), in one transaction.
// Throws Error(InvalidRequest) listing every problem; nothing is stored then.
ConfigUpdate update_config(Db &db, const Config &running, const json_t *partial,
                           const std::string &key_id, TimePoint now);

// The stored overrides as {"path": value}, for GET /api/v1/config; secrets only as "set".
JsonPtr stored_config_overrides(Db &db);

} // namespace tr
