// Client::events: following a task's event stream across dropped connections.
#pragma once

#include "client/transport.h"

#include <task_runner/client.h>

namespace tr::client {

task_runner::EventStreamEnd follow_events(Transport &transport, const std::string &task_id,
                                          const task_runner::EventCallback &callback,
                                          const task_runner::EventOptions &options);

} // namespace tr::client
