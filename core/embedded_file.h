// Files compiled into the programs by core/embed_files.cmake.
#pragma once

#include <vector>

namespace tr {

struct EmbeddedFile {
    const char *name; // file name without directory: "0001_initial.sql"
    const char *text;
};

// db/migrations/*.sql, by name.
const std::vector<EmbeddedFile> &embedded_migration_files();

} // namespace tr
