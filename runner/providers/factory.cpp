// Choosing the provider for a task from its resolved model.
#include "core/error.h"
#include "runner/providers/provider.h"
#include "runner/providers/wire.h"

namespace tr::runner {

std::unique_ptr<Provider> make_builtin_provider();
std::unique_ptr<Provider> make_model_provider(const ResolvedModel &model,
                                              std::unique_ptr<Wire> wire,
                                              const ProviderResources &resources);

std::unique_ptr<Provider> make_provider(const ResolvedModel &model,
                                        const ProviderResources &resources) {
    switch (model.wire) {
    case WireFormat::Builtin: return make_builtin_provider();
    case WireFormat::OpenAi: return make_model_provider(model, make_openai_wire(), resources);
    case WireFormat::Anthropic: return make_model_provider(model, make_anthropic_wire(), resources);
    }
    throw Error(ErrorCode::InternalError, "unknown wire format");
}

} // namespace tr::runner
