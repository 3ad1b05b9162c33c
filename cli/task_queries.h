// `task-runner status|list|cancel|events`: reading, listing, cancelling and watching tasks.
#pragma once

namespace tr::cli {

class Invocation;

int status_command(const Invocation &invocation);
int list_command(const Invocation &invocation);
int cancel_command(const Invocation &invocation);
int events_command(const Invocation &invocation);

} // namespace tr::cli
