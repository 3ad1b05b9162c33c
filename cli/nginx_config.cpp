// The nginx configuration, rendered.
#include "cli/nginx_config.h"

#include "core/embedded_file.h"
#include "core/error.h"

namespace tr {
const std::vector<EmbeddedFile> &embedded_nginx_templates();
} // namespace tr

namespace tr::cli {

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
    const std::string listen =
        (ipv6 ? "[" + bind->host + "]" : bind->host) + ":" + std::to_string(bind->port);
    return render_template(embedded_nginx_templates().at(0).text,
                           {
                               {"run_dir", settings.run_dir},
                               {"fcgi_socket", settings.fcgi_socket},
                               {"listen", listen},
                               {"max_body_kb", std::to_string(config.service.max_request_body_kb)},
                               {"worker_processes", "auto"},
                               {"user_directive", settings.as_root ? "user nobody nogroup;" : ""},
                           });
}

} // namespace tr::cli
