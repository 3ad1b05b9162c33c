// Loading an in-process client's configuration the way the programs load theirs.
#include "client/in_process_config.h"

#include "core/config_store.h"
#include "core/db.h"
#include "core/error.h"
#include "core/json.h"
#include "core/migrate.h"
#include "core/paths.h"
#include "core/strings.h"

#include <task_runner/error.h>

namespace tr::client {
namespace {

// Applies the builder's settings, shaped like the file, over `config`; throws every problem.
void apply(Config &config, const json_t *settings, const std::string &source) {
    const std::vector<std::string> problems = apply_config_json(config, settings, source);
    if (!problems.empty())
        throw Error(ErrorCode::InvalidRequest, join(problems, "\n"));
}

// {"tools": {"working_directory": DIR, "allowed_paths": [DIR], "writable_paths": [DIR]}}
JsonPtr working_directory_settings(const std::string &directory) {
    JsonPtr settings(json_object());
    json_t *tools = json_object();
    json_object_set_new(settings.get(), "tools", tools);
    json_object_set_new(tools, "working_directory", json_text(directory));
    for (const char *list : {"allowed_paths", "writable_paths"}) {
        json_t *paths = json_array();
        json_array_append_new(paths, json_text(directory));
        json_object_set_new(tools, list, paths);
    }
    return settings;
}

// The rest of what load_service_config does after reading the file.
Config prepared(Config config) {
    prepare_database_file(config.storage.database); // before any connection: see core/db.h
    Db db(config.storage.database, parse_durability(config.storage.synchronous));
    migrate(db.handle());
    apply_config_overrides(config, db);
    return config;
}

} // namespace

Config in_process_config_for_database(const std::string &database_path,
                                      const std::string &working_directory) {
    if (database_path.empty())
        throw task_runner::Error("ClientBuilder::in_process: the database path is empty");
    try {
        Config config;
        config.directory = current_directory();
        JsonPtr partial(json_object());
        json_t *storage = json_object();
        json_object_set_new(partial.get(), "storage", storage);
        json_object_set_new(storage, "database", json_text(database_path));
        apply(config, partial.get(), "ClientBuilder::in_process");
        if (!working_directory.empty())
            apply(config, working_directory_settings(working_directory).get(),
                  "ClientBuilder::working_directory");
        return prepared(std::move(config));
    } catch (const tr::Error &e) {
        throw task_runner::Error("in-process client on " + database_path + ": " + e.what());
    } catch (const SQLite::Exception &e) {
        throw task_runner::Error("in-process client on " + database_path + ": " + e.what());
    }
}

Config in_process_config_from_file(const std::string &config_path,
                                   const std::string &working_directory) {
    try {
        Config config = load_service_config(config_path);
        if (!working_directory.empty())
            apply(config, working_directory_settings(working_directory).get(),
                  "ClientBuilder::working_directory");
        return config;
    } catch (const tr::Error &e) {
        throw task_runner::Error("in-process client with " + config_path + ": " + e.what());
    } catch (const SQLite::Exception &e) {
        throw task_runner::Error("in-process client with " + config_path + ": " + e.what());
    }
}

} // namespace tr::client
