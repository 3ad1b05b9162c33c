// The secrets that sign webhooks (README "Webhooks"). Each API key has its own: a task's
// callbacks are signed with the secret of the key that submitted it, so a receiver that trusts
// one key's owner trusts nothing signed for another. Tasks submitted without a key (auth off)
// are signed with the instance's secret. Secrets come from the kernel's random source, are
// stored in the database (the runner needs them in clear to sign) and are shown only by
// `task-runner keys webhook-secret`: never in logs, task JSON or the configuration.
#pragma once

#include "core/db.h"
#include "core/time.h"

#include <optional>
#include <string>

namespace tr {

// "whsec_" and 64 hex digits (256 bits from getrandom).
std::string new_webhook_secret();

// The secret of API key `key_id`, made now if the key has none yet (keys older than webhooks).
// Throws Error(NotFound) when there is no such key.
std::string key_webhook_secret(Db &db, const std::string &key_id);

// The instance's secret, made on first use.
std::string instance_webhook_secret(Db &db, TimePoint now);

// Replaces the secret; callbacks signed from now on use the new one. Returns it.
std::string rotate_key_webhook_secret(Db &db, const std::string &key_id);
std::string rotate_instance_webhook_secret(Db &db, TimePoint now);

// The secret that signs a delivery: its key's, or the instance's for no key. A key removed
// since the task was submitted falls back to nothing: nullopt (the delivery is not signed with
// another's secret).
std::optional<std::string> signing_secret(Db &db, const std::optional<std::string> &key_id,
                                          TimePoint now);

} // namespace tr
