// The tool catalogue. Schemas follow JSON Schema as OpenAI and Anthropic accept it for tools:
// an object with typed properties, required names and no additional properties.
#include "core/tool_catalog.h"

namespace tr {

const std::vector<ToolInfo> &tool_catalog() {
    static const std::vector<ToolInfo> catalog = {
        {"read_file", "Read a text file inside the task's working directory or allowed paths.",
         ToolKind::File,
         R"({"type":"object","properties":{"path":{"type":"string","description":"File to read, relative to the working directory"}},"required":["path"],"additionalProperties":false})"},
        {"write_file",
         "Write text to a file inside the working directory, creating it and its parent "
         "directories, or replacing it (append: true adds to its end instead).",
         ToolKind::File,
         R"({"type":"object","properties":{"path":{"type":"string","description":"File to write, relative to the working directory"},"content":{"type":"string","description":"The text to write"},"append":{"type":"boolean","description":"Add to the end of the file instead of replacing it"}},"required":["path","content"],"additionalProperties":false})"},
        {"list_files",
         "List the entries of a directory (name, type, size), optionally recursively.",
         ToolKind::File,
         R"({"type":"object","properties":{"path":{"type":"string","description":"Directory to list, relative to the working directory; default \".\""},"recursive":{"type":"boolean","description":"Include subdirectories' entries"}},"additionalProperties":false})"},
        {"run_command",
         "Run a shell command (/bin/sh -c) in the working directory, without network access, "
         "and return its exit status and output.",
         ToolKind::Command,
         R"({"type":"object","properties":{"command":{"type":"string","description":"The shell command line"},"timeout_seconds":{"type":"integer","minimum":1,"description":"Wall-clock limit for this command; the server's limit still applies"}},"required":["command"],"additionalProperties":false})"},
    };
    return catalog;
}

const ToolInfo *find_tool(std::string_view name) {
    for (const ToolInfo &tool : tool_catalog())
        if (name == tool.name)
            return &tool;
    return nullptr;
}

bool tool_enabled(const ToolInfo &tool, const ToolsConfig &config) {
    return tool.kind == ToolKind::File ? config.enable_file_operations
                                       : config.enable_command_execution;
}

std::string tool_names_text() {
    std::string names;
    for (const ToolInfo &tool : tool_catalog()) {
        if (!names.empty())
            names += ", ";
        names += tool.name;
    }
    return names;
}

JsonPtr tool_parameters(const ToolInfo &tool) {
    return parse_json(tool.parameters);
}

} // namespace tr
