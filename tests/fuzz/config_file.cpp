// Fuzz target: the configuration file (libconfig text), loaded the way every component loads it
// (load_config: parse, read every setting, check types, ranges and relations), then used the
// way the launcher uses it: its bind address, its allowed hosts, the nginx configuration
// rendered from it, and the configuration as GET /api/v1/config shows it.
//
// Beyond not crashing: a refusal is InvalidRequest, and what load_config accepts has a bind
// address the launcher can parse (it dereferences the parse), renders, and has CORS origins
// that nginx's map of allowed origins takes literally: a key that starts with ~ is a regular
// expression there (one that matches every origin), one that starts with \ loses it, and
// default, hostnames, include and volatile are the map's own parameters.
#include "cli/nginx_config.h"
#include "core/config.h"
#include "core/error.h"
#include "core/json.h"
#include "fuzz_support.h"

#include <fstream>
#include <string>

namespace tr::fuzz {
namespace {

struct World {
    test::TempDir dir;
    std::string file;

    World() {
        // What relative paths in a configuration may name.
        for (const char *name : {"work", "readonly", "spaces", "shared", "data"})
            dir.make_dir(name);
        file = dir / "fuzz.cfg";
    }
};

World &world() {
    static World instance;
    return instance;
}

void check(const Config &config) {
    const std::optional<BindAddress> bind = parse_bind_address(config.service.bind_address);
    require(bind.has_value(),
            "an accepted bind_address does not parse: " + config.service.bind_address);
    for (const std::string &host : effective_allowed_hosts(config.service))
        require(host == "*" || parse_allowed_host(host).has_value(),
                "an allowed host does not parse: " + host);
    cli::NginxSettings settings;
    settings.run_dir = world().dir / "run";
    settings.fcgi_socket = world().dir / "run/fcgi.sock";
    cli::render_nginx_config(config, settings);
    cli::render_nginx_site(config, settings); // the same edge, cut at its marks for a system nginx
    for (const std::string &origin : config.service.cors.allowed_origins) {
        if (origin == "*")
            continue;
        bool literal = !origin.empty() && origin.front() != '~' && origin.front() != '\\';
        for (const char *parameter : {"default", "hostnames", "include", "volatile"})
            literal = literal && origin != parameter;
        require(literal, "an allowed origin nginx does not take literally: \"" + origin + "\"");
    }
    parse_json(dump_json(config_to_json(config).get()));
}

} // namespace
} // namespace tr::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace tr::fuzz;
    World &w = world();
    {
        std::ofstream out(w.file, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
    }
    tr::Config config;
    try {
        config = tr::load_config(w.file, tr::test::environment_of());
    } catch (const tr::Error &e) {
        require(e.code() == tr::ErrorCode::InvalidRequest,
                std::string("a configuration was refused with ") + e.code_name() + ": " + e.what());
        return 0;
    }
    check(config);
    return 0;
}
