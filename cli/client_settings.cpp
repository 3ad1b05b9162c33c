// Resolving the server URL and the API key: flags, environment, the user's client.conf.
#include "cli/client_settings.h"

#include "cli/command_line.h"
#include "cli/trusted_file.h"
#include "cli/usage_error.h"
#include "cli/user_dirs.h"
#include "core/error.h"
#include "core/paths.h"

#include <cstdlib>
#include <libconfig.h++>
#include <optional>

namespace tr::cli {
namespace {

constexpr const char *default_url = "http://127.0.0.1:8080";

std::optional<std::string> environment(const char *name) {
    const char *value = std::getenv(name);
    if (!value || !*value)
        return std::nullopt;
    return std::string(value);
}

struct FileSettings {
    std::optional<std::string> url;
    std::optional<std::string> key;
};

std::string file_string(const libconfig::Setting &root, const char *name, const std::string &path) {
    const libconfig::Setting &setting = root[name];
    if (setting.getType() != libconfig::Setting::TypeString)
        throw UsageError(path + ":" + std::to_string(setting.getSourceLine()) + ": " + name +
                         " must be a string in quotes");
    return setting.c_str();
}

[[noreturn]] void unknown_setting(const std::string &path, unsigned line, const std::string &name) {
    throw UsageError(path + ":" + std::to_string(line) + ": unknown setting " + name +
                     " (a client file has url and key)");
}

// The file is trusted whole or not at all: a url others can change sends the key (from any
// source) to their server, as surely as a key they can read gives it away.
std::optional<FileSettings> read_client_file(const std::string &path) {
    const std::optional<TrustedContent> content = read_trusted_file(path);
    if (!content)
        return std::nullopt;
    libconfig::Config file;
    try {
        file.readString(content->text);
    } catch (const libconfig::ParseException &e) {
        throw UsageError(path + ":" + std::to_string(e.getLine()) + ": " + e.getError());
    }
    const libconfig::Setting &root = file.getRoot();
    FileSettings settings;
    for (int i = 0; i < root.getLength(); ++i) {
        const std::string name = root[i].getName();
        if (name != "url" && name != "key")
            unknown_setting(path, root[i].getSourceLine(), name);
    }
    if (root.exists("url"))
        settings.url = file_string(root, "url", path);
    if (root.exists("key")) {
        if ((content->mode & 077) != 0)
            throw InputError(path +
                             " holds an API key and others may read it; make it private: "
                             "chmod 600 " +
                             path);
        settings.key = file_string(root, "key", path);
    }
    return settings;
}

} // namespace

std::string client_config_path() {
    if (std::optional<std::string> path = environment("TASK_RUNNER_CLIENT_CONFIG"))
        return *path;
    return join_path(user_config_dir(), "client.conf");
}

ClientSettings client_settings(const Invocation &invocation) {
    ClientSettings settings;
    std::optional<std::string> url = invocation.value("--server");
    std::optional<std::string> key = invocation.value("--key");
    settings.url_source = url ? "--server" : "";
    if (!url && (url = environment("TASK_RUNNER_URL")))
        settings.url_source = "TASK_RUNNER_URL";
    if (!key)
        key = environment("TASK_RUNNER_KEY");
    if (!url || !key) {
        std::string path;
        try {
            path = client_config_path();
        } catch (const UsageError &) {
            // No HOME and no XDG_CONFIG_HOME (a bare `env -i`): there is no user file to read.
        }
        if (const std::optional<FileSettings> file =
                path.empty() ? std::nullopt : read_client_file(path)) {
            if (!url && (url = file->url))
                settings.url_source = path;
            if (!key)
                key = file->key;
        }
    }
    settings.url = url.value_or(default_url);
    if (settings.url_source.empty())
        settings.url_source = "default";
    settings.key = key.value_or("");
    return settings;
}

} // namespace tr::cli
