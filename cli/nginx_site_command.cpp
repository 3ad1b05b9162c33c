// Rendering the system nginx's site (see nginx_site_command.h and docs/deploy.md).
#include "cli/nginx_site_command.h"

#include "cli/console_directory.h"
#include "cli/exit_codes.h"
#include "cli/nginx_config.h"
#include "cli/usage_error.h"
#include "core/config.h"
#include "core/error.h"
#include "core/paths.h"

#include <iostream>

namespace tr::cli {
namespace {

// Where deploy/task-runner-fcgi.service has the handlers listen (tmpfiles.d makes the directory).
constexpr const char *installed_socket = "/run/task-runner/fcgi.sock";

int nginx_site_command(const Invocation &invocation) {
    NginxSettings settings;
    settings.run_dir = "/run/task-runner"; // only the private nginx's part uses it
    settings.fcgi_socket = invocation.value("--socket").value_or(installed_socket);
    settings.console_dir =
        invocation.value("--console-dir").value_or(console_directory(program_directory()));
    settings.tls_certificate = invocation.value("--tls-certificate").value_or("");
    settings.tls_key = invocation.value("--tls-key").value_or("");
    const std::string config_path = invocation.value("--config").value_or(default_config_path());
    try {
        // The tools' directories need not exist yet: the edge does not depend on them, and the
        // service checks them when it starts.
        const Config config =
            load_config(config_path, process_environment(), ConfigChecks::ExceptDirectories);
        std::cout << render_nginx_site(config, settings);
        return exit_ok;
    } catch (const Error &e) {
        if (e.code() != ErrorCode::InvalidRequest)
            throw;
        throw InputError(e.what()); // the file's problems, or a path nginx cannot take
    }
}

} // namespace

Command nginx_site_command_spec() {
    return Command{
        "nginx-site",
        "",
        "Print the nginx site of an installed service (the edge serve runs, for a system nginx).",
        {{"--config", "FILE",
          "the service's configuration file (else $TASK_RUNNER_CONFIG, else the installed "
          "programs' SYSCONFDIR/task-runner/task-runner.cfg)"},
         {"--socket", "PATH", "the handlers' socket (default /run/task-runner/fcgi.sock)"},
         {"--console-dir", "DIR", "the console's files (default DATADIR/task-runner/console)"},
         {"--tls-certificate", "FILE", "listen with TLS: the certificate chain (PEM)"},
         {"--tls-key", "FILE", "with --tls-certificate: its private key (PEM)"}},
        "The maps, rate-limit zones, upstream and server of nginx/task-runner.conf.in, rendered "
        "from the configuration as serve renders them, to include in nginx's http block "
        "(Debian: /etc/nginx/sites-available/task-runner, linked from sites-enabled). Render it "
        "again after changing the configuration. See docs/deploy.md.",
        {{exit_ok, "printed"},
         {exit_bad_input, "wrong usage, or the file has problems (each as FILE:LINE)"}},
        0,
        0,
        nginx_site_command,
        nullptr};
}

} // namespace tr::cli
