// The configuration of an in-process client, and its database made ready (created, migrated,
// the settings stored through PUT /api/v1/config applied), as every component does at start.
#pragma once

#include "core/config.h"

#include <string>

namespace tr::client {

// The built-in defaults with storage.database = `database_path`; relative paths (the database,
// tools.working_directory ".") are taken from the current directory. A `working_directory`
// (not empty) becomes the tasks' working directory and their only allowed and writable path.
Config in_process_config_for_database(const std::string &database_path,
                                      const std::string &working_directory);

// A task-runner.cfg file, with the environment's overrides, as the server loads it; then the
// `working_directory`, if not empty, as above.
Config in_process_config_from_file(const std::string &config_path,
                                   const std::string &working_directory);

} // namespace tr::client
