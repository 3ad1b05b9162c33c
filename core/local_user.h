// Who is at the keyboard: the local user a command-line program runs as, named in the audit
// rows of the changes it makes without an API key (`task-runner keys create`, `keys revoke`).
#pragma once

#include <string>

namespace tr {

// "alice (uid 1000)", or "uid 1000" when the user has no passwd entry. Never throws.
std::string local_user() noexcept;

} // namespace tr
