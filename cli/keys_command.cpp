// API key management.
//
//   task-runner keys create --owner NAME --scopes read,submit[,admin] [--description TEXT]
//   task-runner keys list
//   task-runner keys revoke ID
//   task-runner keys webhook-secret ID|default [--rotate]
// each with [--config FILE].
#include "cli/keys_command.h"

#include "cli/usage_error.h"
#include "core/api_keys.h"
#include "core/config_store.h"
#include "core/local_user.h"
#include "core/webhook_secrets.h"

#include <iomanip>
#include <iostream>

namespace tr::cli {
namespace {

struct KeysOptions {
    std::string action;
    std::string config_path;
    std::string owner;
    std::vector<std::string> scopes;
    std::string description;
    std::string id;
    bool rotate = false;
};

bool takes_id(const std::string &action) {
    return action == "revoke" || action == "webhook-secret";
}

std::vector<std::string> split_commas(const std::string &text) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        if (comma > start)
            items.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return items;
}

KeysOptions parse(const std::vector<std::string> &args) {
    if (args.empty())
        throw UsageError("keys: say create, list or revoke");
    KeysOptions options;
    options.action = args[0];
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string &arg = args[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= args.size())
                throw UsageError("keys: " + arg + " needs a value");
            return args[++i];
        };
        if (arg == "--config")
            options.config_path = value();
        else if (arg == "--owner")
            options.owner = value();
        else if (arg == "--scopes")
            options.scopes = split_commas(value());
        else if (arg == "--description")
            options.description = value();
        else if (arg == "--rotate" && options.action == "webhook-secret")
            options.rotate = true;
        else if (takes_id(options.action) && options.id.empty() && arg.rfind("--", 0) != 0)
            options.id = arg;
        else
            throw UsageError("keys " + options.action + ": unknown argument \"" + arg + "\"");
    }
    if (options.action != "create" && options.action != "list" && !takes_id(options.action))
        throw UsageError("keys: unknown action \"" + options.action +
                         "\" (create, list, revoke, webhook-secret)");
    if (options.action == "create" && (options.owner.empty() || options.scopes.empty()))
        throw UsageError("keys create needs --owner NAME and --scopes read,submit,admin");
    if (options.action == "revoke" && options.id.empty())
        throw UsageError("keys revoke needs the key's id (see keys list)");
    if (options.action == "webhook-secret" && options.id.empty())
        throw UsageError("keys webhook-secret needs a key's id (see keys list), or default for "
                         "tasks submitted without a key");
    return options;
}

// The secret on stdout alone, so `$(task-runner keys webhook-secret ID)` is the secret.
int print_webhook_secret(Db &db, const KeysOptions &options) {
    const bool instance = options.id == "default";
    const TimePoint now = Clock::now();
    if (options.rotate)
        std::cout << (instance ? rotate_instance_webhook_secret(db, now)
                               : rotate_key_webhook_secret(db, options.id))
                  << "\n";
    else
        std::cout << (instance ? instance_webhook_secret(db, now)
                               : key_webhook_secret(db, options.id))
                  << "\n";
    if (options.rotate)
        std::cerr << "Rotated: callbacks are signed with the new secret from now on; a delivery "
                     "already retrying is signed with it at its next attempt.\n";
    return 0;
}

} // namespace

int keys_command(const std::vector<std::string> &args) {
    const KeysOptions options = parse(args);
    const Config config = load_service_config(options.config_path.empty() ? default_config_path()
                                                                          : options.config_path);
    Db db(config.storage);
    if (options.action == "create") {
        const CreatedKey key = create_api_key(db, options.owner, options.scopes,
                                              options.description, local_user(), Clock::now());
        std::cout << key.key << "\n";
        std::cerr << "Created key " << key.id << " for " << options.owner
                  << ". The line above is the whole key; it is not stored and is shown only now.\n"
                  << "Its tasks' callbacks are signed with " << key.webhook_secret
                  << " (again: task-runner keys webhook-secret " << key.id << ").\n";
        if (!config.service.require_api_key)
            std::cerr << "Note: service.require_api_key is off in " << config.file
                      << ", so the API does not ask for keys yet.\n";
        return 0;
    }
    if (options.action == "list") {
        std::cout << std::left << std::setw(14) << "ID" << std::setw(20) << "OWNER" << std::setw(20)
                  << "SCOPES" << std::setw(26) << "CREATED" << std::setw(26) << "LAST USED"
                  << "REVOKED\n";
        for (const KeyInfo &key : list_api_keys(db))
            std::cout << std::setw(14) << key.id << std::setw(20) << key.owner << std::setw(20)
                      << key.scopes << std::setw(26) << key.created_at << std::setw(26)
                      << key.last_used_at.value_or("-") << key.revoked_at.value_or("-") << "\n";
        return 0;
    }
    if (options.action == "webhook-secret")
        return print_webhook_secret(db, options);
    if (!revoke_api_key(db, options.id, local_user(), Clock::now()))
        throw Error(ErrorCode::TaskNotFound, "no active key with id \"" + options.id + "\"");
    std::cout << "Revoked key " << options.id << "; requests with it now get 401.\n";
    return 0;
}

} // namespace tr::cli
