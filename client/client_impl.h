// What a Client holds: its transport. An in-process transport also owns the embedded runner
// and the database, released when the Client goes.
#pragma once

#include "client/transport.h"

#include <task_runner/client.h>

#include <memory>

class task_runner::Client::Impl {
public:
    explicit Impl(std::unique_ptr<tr::client::Transport> transport)
        : transport_(std::move(transport)) {}

    tr::client::Transport &transport() { return *transport_; }

private:
    std::unique_ptr<tr::client::Transport> transport_;
};
