// config_changes rows.
#include "core/audit.h"

namespace tr {

void record_config_change(Db &db, const std::string &section, const json_t *change,
                          const std::string &key_id, const std::string &at) {
    Query audit =
        db.query("INSERT INTO config_changes (at, key_id, section, change) VALUES (?, ?, ?, ?)");
    audit->bind(1, at);
    if (!key_id.empty())
        audit->bind(2, key_id);
    audit->bind(3, section);
    audit->bind(4, dump_json(change));
    audit->exec();
}

} // namespace tr
