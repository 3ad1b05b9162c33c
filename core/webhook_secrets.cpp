// Webhook secrets: made lazily, rotated on request, read by the runner to sign.
#include "core/webhook_secrets.h"

#include "core/error.h"
#include "core/random.h"

namespace tr {
namespace {

constexpr const char *instance_secret_name = "webhook";

std::optional<std::string> stored_key_secret(Db &db, const std::string &key_id, bool &found) {
    Query select = db.query("SELECT webhook_secret FROM api_keys WHERE id = ?");
    select->bind(1, key_id);
    found = select->executeStep();
    return found ? optional_text(select->getColumn(0)) : std::nullopt;
}

} // namespace

std::string new_webhook_secret() {
    return "whsec_" + random_hex(32);
}

std::string key_webhook_secret(Db &db, const std::string &key_id) {
    bool found = false;
    if (std::optional<std::string> secret = stored_key_secret(db, key_id, found))
        return *secret;
    if (!found)
        throw Error(ErrorCode::NotFound, "no API key with id \"" + key_id.substr(0, 40) + "\"");
    {
        // Only if still unset: two runners making one at once agree on the first one written.
        Query set = db.query(
            "UPDATE api_keys SET webhook_secret = ? WHERE id = ? AND webhook_secret IS NULL");
        set->bind(1, new_webhook_secret());
        set->bind(2, key_id);
        set->exec();
    }
    return stored_key_secret(db, key_id, found).value();
}

std::string instance_webhook_secret(Db &db, TimePoint now) {
    {
        Query insert = db.query("INSERT INTO instance_secrets (name, value, created_at) "
                                "VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING");
        Query select = db.query("SELECT value FROM instance_secrets WHERE name = ?");
        select->bind(1, instance_secret_name);
        if (select->executeStep())
            return select->getColumn(0).getString();
        insert->bind(1, instance_secret_name);
        insert->bind(2, new_webhook_secret());
        insert->bind(3, format_utc(now));
        insert->exec();
    }
    Query select = db.query("SELECT value FROM instance_secrets WHERE name = ?");
    select->bind(1, instance_secret_name);
    if (!select->executeStep())
        throw Error(ErrorCode::InternalError, "the instance's webhook secret was not stored");
    return select->getColumn(0).getString();
}

std::string rotate_key_webhook_secret(Db &db, const std::string &key_id) {
    std::string secret = new_webhook_secret();
    Query set = db.query("UPDATE api_keys SET webhook_secret = ? WHERE id = ?");
    set->bind(1, secret);
    set->bind(2, key_id);
    if (set->exec() != 1)
        throw Error(ErrorCode::NotFound, "no API key with id \"" + key_id.substr(0, 40) + "\"");
    return secret;
}

std::string rotate_instance_webhook_secret(Db &db, TimePoint now) {
    std::string secret = new_webhook_secret();
    Query set = db.query("INSERT INTO instance_secrets (name, value, created_at) VALUES (?, ?, ?) "
                         "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
                         "created_at = excluded.created_at");
    set->bind(1, instance_secret_name);
    set->bind(2, secret);
    set->bind(3, format_utc(now));
    set->exec();
    return secret;
}

std::optional<std::string> signing_secret(Db &db, const std::optional<std::string> &key_id,
                                          TimePoint now) {
    if (!key_id)
        return instance_webhook_secret(db, now);
    try {
        return key_webhook_secret(db, *key_id);
    } catch (const Error &e) {
        if (e.code() != ErrorCode::NotFound) // the one expected error: the key row is gone
            throw;
        return std::nullopt;
    }
}

} // namespace tr
