// Choosing the provider for a task from the model configuration.
#include "core/error.h"
#include "runner/providers/provider.h"

namespace tr::runner {

std::unique_ptr<Provider> make_builtin_provider();

std::unique_ptr<Provider> make_provider(const ModelConfig &config) {
    if (config.provider == "builtin")
        return make_builtin_provider();
    throw Error(ErrorCode::InternalError, "unknown model provider \"" + config.provider + "\"");
}

} // namespace tr::runner
