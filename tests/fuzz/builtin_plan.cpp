// Fuzz target: the builtin planner's reading of a task's text (runner/providers/builtin_parser),
// which any client submits.
//
// Beyond not crashing: what it understands is at least one action, each a tool of the catalog
// with arguments its schema accepts (the same check a model's calls get) and a description.
#include "core/tool_catalog.h"
#include "fuzz_support.h"
#include "runner/providers/builtin_parser.h"
#include "runner/tools/arguments.h"

#include <optional>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using tr::fuzz::require;
    const std::optional<tr::runner::BuiltinTask> task =
        tr::runner::parse_builtin_task(tr::fuzz::as_text(data, size));
    if (!task)
        return 0;
    require(!task->actions.empty(), "a task understood as no action at all");
    for (const tr::runner::BuiltinAction &action : task->actions) {
        const tr::ToolInfo *tool = tr::find_tool(action.tool);
        require(tool != nullptr, "an action of unknown tool \"" + action.tool + "\"");
        const std::optional<std::string> problem =
            tr::runner::check_arguments(tr::tool_parameters(*tool).get(), action.arguments.get());
        require(!problem, "the arguments of " + action.tool +
                              " do not fit its schema: " + problem.value_or("") + " in " +
                              tr::dump_json(action.arguments.get()));
        require(!action.description.empty(), "an action without a description");
    }
    return 0;
}
