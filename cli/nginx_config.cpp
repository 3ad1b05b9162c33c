// The nginx configuration, rendered.
#include "cli/nginx_config.h"

#include "core/embedded_file.h"
#include "core/error.h"
#include "core/strings.h"

#include <algorithm>

namespace tr {
const std::vector<EmbeddedFile> &embedded_nginx_templates();
} // namespace tr

namespace tr::cli {
namespace {

// A value inside double quotes in nginx's syntax (escaped, unlike tr::quoted).
std::string nginx_string(const std::string &text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

// The maps that give each CORS header its value: empty unless the request's Origin is allowed.
std::string cors_maps(const CorsConfig &cors) {
    std::string origins;
    if (std::find(cors.allowed_origins.begin(), cors.allowed_origins.end(), "*") !=
        cors.allowed_origins.end())
        origins = "        \"~.\" \"*\";\n"; // any origin (config refuses * with credentials)
    else
        for (const std::string &origin : cors.allowed_origins)
            origins += "        " + nginx_string(origin) + " $http_origin;\n";
    std::vector<std::string> methods = cors.allowed_methods;
    if (std::find(methods.begin(), methods.end(), "OPTIONS") == methods.end())
        methods.emplace_back("OPTIONS");
    // "*" does not cover Authorization in browsers: echo what the preflight asks for instead.
    const bool any_header = std::find(cors.allowed_headers.begin(), cors.allowed_headers.end(),
                                      "*") != cors.allowed_headers.end();
    const std::string headers = any_header ? "$http_access_control_request_headers"
                                           : nginx_string(join(cors.allowed_headers, ", "));
    const auto when_allowed = [](const std::string &variable, const std::string &value) {
        return "    map $cors_allow_origin " + variable +
               " {\n        \"\" \"\";\n        default " + value + ";\n    }\n";
    };
    return "    map $http_origin $cors_allow_origin {\n        default \"\";\n" + origins +
           "    }\n" + when_allowed("$cors_allow_methods", nginx_string(join(methods, ", "))) +
           when_allowed("$cors_allow_headers", headers) +
           when_allowed("$cors_allow_credentials", cors.allow_credentials ? "\"true\"" : "\"\"") +
           when_allowed("$cors_max_age", nginx_string(std::to_string(cors.max_age_seconds))) +
           when_allowed("$cors_expose_headers", "\"X-Request-Id, Location, Retry-After\"");
}

// A regular expression that matches `text` literally.
std::string regex_literal(const std::string &text) {
    std::string out;
    for (const char c : text) {
        if (std::string_view("\\.[](){}*+?^$|").find(c) != std::string_view::npos)
            out += '\\';
        out += c;
    }
    return out;
}

// $host_allowed is 1 when the Host header is one of service.allowed_hosts: "name:port" exactly,
// "name" with any port; names in any case. A browser sends the name it resolved, so a page
// that rebinds its own name to 127.0.0.1 arrives with that name and is turned away.
std::string host_map(const ServiceConfig &service) {
    const std::vector<std::string> hosts = effective_allowed_hosts(service);
    // nginx's own refusals (400 for a request without Host...) are internal redirects to
    // /.edge/, which pass through this check again: they keep their status.
    const std::string refused =
        "    map \"$host_allowed:$uri\" $host_refused {\n        default 0;\n"
        "        \"~^0:(?!/\\.edge/)\" 1;\n    }\n";
    if (std::find(hosts.begin(), hosts.end(), "*") != hosts.end())
        return "    map $http_host $host_allowed {\n        default 1;\n    }\n" + refused;
    std::string entries;
    for (const std::string &entry : hosts) {
        const std::optional<AllowedHost> host = parse_allowed_host(entry); // checked by the config
        if (!host)
            continue;
        const std::string port = host->port ? ":" + std::to_string(*host->port) : "(:[0-9]+)?";
        entries +=
            "        " + nginx_string("~*^" + regex_literal(host->name) + port + "$") + " 1;\n";
    }
    return "    map $http_host $host_allowed {\n        default 0;\n" + entries + "    }\n" +
           refused;
}

// The TLS directives of the server, or none.
std::string tls_directives(const NginxSettings &settings) {
    if (settings.tls_certificate.empty())
        return "";
    return "        ssl_certificate " + nginx_string(settings.tls_certificate) +
           ";\n        ssl_certificate_key " + nginx_string(settings.tls_key) + ";\n";
}

// What the API's answers may do in a browser: nothing.
constexpr const char *api_policy = "default-src 'none'; frame-ancestors 'none'";
// What the console's pages may do: load their own scripts, styles and images (and data: images),
// and fetch from this origin. No inline script or style, no eval, no other site, no framing, no
// <base>, no form posted elsewhere: an injected tag in a task's text has nowhere to go.
constexpr const char *console_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// Headers on every response, nginx's own errors included (`always`), with `policy` as the
// Content-Security-Policy.
std::string edge_headers(const char *policy) {
    const std::string csp =
        std::string("add_header Content-Security-Policy \"") + policy + "\" always;";
    const char *const lines[] = {
        "add_header X-Request-Id $request_id always;",
        "add_header X-Content-Type-Options nosniff always;",
        "add_header X-Frame-Options DENY always;",
        "add_header Referrer-Policy no-referrer always;",
        csp.c_str(),
        "add_header Vary Origin always;",
        "add_header Access-Control-Allow-Origin $cors_allow_origin always;",
        "add_header Access-Control-Allow-Methods $cors_allow_methods always;",
        "add_header Access-Control-Allow-Headers $cors_allow_headers always;",
        "add_header Access-Control-Allow-Credentials $cors_allow_credentials always;",
        "add_header Access-Control-Max-Age $cors_max_age always;",
        "add_header Access-Control-Expose-Headers $cors_expose_headers always;",
    };
    std::string out;
    for (const char *line : lines)
        out += std::string(out.empty() ? "" : "\n") + "        " + line;
    return out;
}

} // namespace

std::string render_template(const std::string &text,
                            const std::map<std::string, std::string> &values) {
    std::string out;
    std::size_t position = 0;
    for (;;) {
        const std::size_t open = text.find("{{", position);
        if (open == std::string::npos)
            break;
        const std::size_t close = text.find("}}", open);
        if (close == std::string::npos)
            throw Error(ErrorCode::InternalError,
                        "template: unclosed {{ at offset " + std::to_string(open));
        const std::string name = text.substr(open + 2, close - open - 2);
        const auto value = values.find(name);
        if (value == values.end())
            throw Error(ErrorCode::InternalError, "template: no value for {{" + name + "}}");
        out.append(text, position, open - position);
        out += value->second;
        position = close + 2;
    }
    out.append(text, position, std::string::npos);
    return out;
}

std::string render_nginx_config(const Config &config, const NginxSettings &settings) {
    const std::optional<BindAddress> bind = parse_bind_address(config.service.bind_address);
    if (!bind) // load_config has checked it already
        throw Error(ErrorCode::InternalError, "service.bind_address is invalid");
    const bool ipv6 = bind->host.find(':') != std::string::npos;
    const std::string listen = (ipv6 ? "[" + bind->host + "]" : bind->host) + ":" +
                               std::to_string(bind->port) +
                               (settings.tls_certificate.empty() ? "" : " ssl");
    const RateLimitConfig &rate = config.service.rate_limiting;
    // Retry-After for a 429: the time one more request is earned back, at least a second.
    const int retry_after =
        std::max(1, (60 + rate.requests_per_minute - 1) / rate.requests_per_minute);
    return render_template(
        embedded_nginx_templates().at(0).text,
        {
            {"run_dir", settings.run_dir},
            {"fcgi_socket", settings.fcgi_socket},
            {"listen", listen},
            {"tls", tls_directives(settings)},
            {"max_body_kb", std::to_string(config.service.max_request_body_kb)},
            {"worker_processes", "auto"},
            {"user_directive", settings.as_root ? "user nobody nogroup;" : ""},
            {"cors_maps", cors_maps(config.service.cors)},
            {"host_map", host_map(config.service)},
            {"edge_headers", edge_headers(api_policy)},
            {"console_headers", edge_headers(console_policy)},
            // Without a console, a directory that is not there: every page is the JSON 404.
            {"console_dir",
             nginx_string(settings.console_dir.empty() ? settings.run_dir + "/no-console"
                                                       : settings.console_dir)},
            {"rate_key", config.service.require_api_key ? "$presented_key" : "$binary_remote_addr"},
            {"requests_per_minute", std::to_string(rate.requests_per_minute)},
            {"burst_size", std::to_string(rate.burst_size)},
            // nginx refuses "burst=0" (and would not start); no burst is no burst parameter.
            {"per_key_burst",
             rate.burst_size > 0 ? "burst=" + std::to_string(rate.burst_size) + " " : ""},
            {"address_requests_per_minute", std::to_string(rate.requests_per_minute * 10)},
            {"address_burst_size", std::to_string(rate.burst_size * 10 + 10)},
            {"retry_after_seconds", std::to_string(retry_after)},
            {"handler_timeout", std::to_string(config.service.handler_timeout_seconds)},
            {"stream_read_timeout", std::to_string(config.service.max_stream_seconds + 30)},
        });
}

} // namespace tr::cli

namespace tr::cli {
namespace {

constexpr std::string_view site_begins = "    # task-runner nginx-site: the site begins.";
constexpr std::string_view site_ends = "    # task-runner nginx-site: the site ends.\n";

// A path nginx reads as one word where the template puts it unquoted (`server unix:PATH;`):
// absolute, and only characters that cannot end the directive or start another.
void check_nginx_path(const std::string &path, const char *what) {
    const bool plain = !path.empty() && path.front() == '/' &&
                       path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789/._-+@") == std::string::npos;
    if (!plain)
        throw Error(ErrorCode::InvalidRequest,
                    std::string(what) +
                        " must be an absolute path of letters, digits and / . _ - + @ (got " +
                        in_quotes(path) + ")");
}

} // namespace

std::string render_nginx_site(const Config &config, const NginxSettings &settings) {
    check_nginx_path(settings.fcgi_socket, "the handlers' socket");
    if (!settings.console_dir.empty())
        check_nginx_path(settings.console_dir, "the console's directory");
    if (settings.tls_certificate.empty() != settings.tls_key.empty())
        throw Error(ErrorCode::InvalidRequest,
                    "TLS needs both a certificate and its key (got only one of them)");
    // Checked as plainly as the socket: nginx reads "$name" in these as a variable.
    if (!settings.tls_certificate.empty()) {
        check_nginx_path(settings.tls_certificate, "the TLS certificate");
        check_nginx_path(settings.tls_key, "the TLS key");
    }
    const std::string whole = render_nginx_config(config, settings);
    const std::size_t begin = whole.find(site_begins);
    const std::size_t end = whole.find(site_ends, begin);
    if (begin == std::string::npos || end == std::string::npos) // the template lost its marks
        throw Error(ErrorCode::InternalError,
                    "nginx template: no \"task-runner nginx-site\" marks");
    std::string file = config.file; // in a comment: a line break would end it
    std::replace_if(
        file.begin(), file.end(), [](char c) { return c == '\n' || c == '\r'; }, '?');
    return "# Task Runner's site for a system nginx, rendered by `task-runner nginx-site` from\n"
           "# " +
           file + ": include it in the http block (Debian: sites-enabled/).\n" +
           "# Render it again after changing that file; edits here are lost then.\n\n" +
           whole.substr(begin, end + site_ends.size() - begin);
}

} // namespace tr::cli
