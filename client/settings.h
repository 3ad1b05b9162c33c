// What a ClientBuilder has been told, for the transports to read.
#pragma once

#include <task_runner/client.h>

#include <chrono>
#include <functional>
#include <string>

struct task_runner::ClientBuilder::Settings {
    enum class Transport { None, Http, InProcessDatabase, InProcessConfig };
    Transport transport = Transport::None;
    std::string base_url;
    std::string api_key;
    std::string host_header;
    std::string path;              // the database or the config file of an in-process client
    std::string working_directory; // of an in-process client's tasks; empty: the config's
    std::chrono::milliseconds timeout{30000};
    std::chrono::milliseconds connect_timeout{5000};
    std::function<bool()> interrupted;
};
