// The tools a task may use: names, descriptions and JSON-schema parameters. Shared by request
// validation (fcgi), the tool list sent to a model and the tools' own argument checks (runner),
// and GET /api/v1/tools, so all of them agree on what a tool is.
#pragma once

#include "core/config.h"
#include "core/json.h"

#include <string>
#include <string_view>
#include <vector>

namespace tr {

enum class ToolKind { File, Command };

struct ToolInfo {
    const char *name;
    const char *description;
    ToolKind kind;
    const char *parameters; // JSON Schema of the arguments object, as JSON text
};

const std::vector<ToolInfo> &tool_catalog();

const ToolInfo *find_tool(std::string_view name);

// Whether the server's configuration allows this tool at all.
bool tool_enabled(const ToolInfo &tool, const ToolsConfig &config);

// "read_file, write_file, list_files, run_command": for messages.
std::string tool_names_text();

// The parameters schema as a JSON value (a new reference).
JsonPtr tool_parameters(const ToolInfo &tool);

} // namespace tr
