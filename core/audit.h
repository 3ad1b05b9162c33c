// The audit trail of configuration: every change, when, by which API key, and what changed
// (secrets only as "(set)" or "(cleared)"), in config_changes.
#pragma once

#include "core/db.h"
#include "core/json.h"

#include <string>

namespace tr {

// Writes one row; call it inside the transaction that makes the change.
void record_config_change(Db &db, const std::string &section, const json_t *change,
                          const std::string &key_id, const std::string &at);

} // namespace tr
