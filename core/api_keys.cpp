// Creating, listing, revoking and checking API keys.
#include "core/api_keys.h"

#include "core/digest.h"
#include "core/error.h"
#include "core/random.h"
#include "core/strings.h"
#include "core/webhook_secrets.h"

#include <algorithm>
#include <cctype>

namespace tr {
namespace {

constexpr std::string_view key_prefix = "trk_";
constexpr std::size_t id_length = 12;     // hex digits
constexpr std::size_t secret_length = 64; // hex digits: 256 bits

constexpr const char *scope_names[] = {"", "read", "submit", "admin"};

bool is_hex(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::vector<Scope> parse_scopes(const std::string &text) {
    std::vector<Scope> scopes;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        const std::string name = text.substr(start, comma - start);
        for (int i = 1; i < 4; ++i)
            if (name == scope_names[i])
                scopes.push_back(static_cast<Scope>(i));
        start = comma + 1;
    }
    return scopes;
}

} // namespace

const char *to_string(Scope scope) noexcept {
    return scope_names[static_cast<int>(scope)];
}

bool Principal::has(Scope scope) const {
    if (scope == Scope::None)
        return true;
    return std::find(scopes.begin(), scopes.end(), Scope::Admin) != scopes.end() ||
           std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

Principal open_access() {
    return Principal{"", "", {Scope::Admin}};
}

CreatedKey create_api_key(Db &db, const std::string &owner, const std::vector<std::string> &scopes,
                          const std::string &description, const std::string &made_by,
                          TimePoint now) {
    if (!is_owner_name(owner))
        throw Error(ErrorCode::InvalidRequest,
                    "owner must be 1..100 characters of letters, digits and - _ . @, not only dots "
                    "(got \"" +
                        owner + "\")");
    if (scopes.empty())
        throw Error(ErrorCode::InvalidRequest, "give at least one scope: read, submit, admin");
    std::string scope_text;
    for (const std::string &scope : scopes) {
        if (scope != "read" && scope != "submit" && scope != "admin")
            throw Error(ErrorCode::InvalidRequest,
                        "scopes are read, submit and admin (got \"" + scope + "\")");
        if (scope_text.find(scope) == std::string::npos)
            scope_text += (scope_text.empty() ? "" : ",") + scope;
    }
    CreatedKey created{random_hex(id_length / 2), "", new_webhook_secret()};
    const std::string secret = random_hex(secret_length / 2);
    created.key = std::string(key_prefix) + created.id + "_" + secret;
    Query insert =
        db.query("INSERT INTO api_keys (id, owner, scopes, secret_hash, description, created_at, "
                 "created_by, webhook_secret) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    insert->bind(1, created.id);
    insert->bind(2, owner);
    insert->bind(3, scope_text);
    insert->bind(4, sha256_hex(secret));
    if (!description.empty())
        insert->bind(5, description);
    insert->bind(6, format_utc(now));
    insert->bind(7, made_by);
    insert->bind(8, created.webhook_secret);
    insert->exec();
    return created;
}

std::vector<KeyInfo> list_api_keys(Db &db) {
    Query select =
        db.query("SELECT id, owner, scopes, coalesce(description, ''), created_at, last_used_at, "
                 "revoked_at FROM api_keys ORDER BY created_at");
    std::vector<KeyInfo> keys;
    while (select->executeStep())
        keys.push_back({select->getColumn(0).getString(), select->getColumn(1).getString(),
                        select->getColumn(2).getString(), select->getColumn(3).getString(),
                        select->getColumn(4).getString(), optional_text(select->getColumn(5)),
                        optional_text(select->getColumn(6))});
    return keys;
}

bool revoke_api_key(Db &db, const std::string &id, const std::string &revoked_by, TimePoint now) {
    Query revoke = db.query(
        "UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL");
    revoke->bind(1, format_utc(now));
    revoke->bind(2, revoked_by);
    revoke->bind(3, id);
    return revoke->exec() == 1;
}

std::optional<Principal> authenticate_key(Db &db, std::string_view presented, TimePoint now) {
    if (presented.size() != key_prefix.size() + id_length + 1 + secret_length ||
        presented.substr(0, key_prefix.size()) != key_prefix ||
        presented[key_prefix.size() + id_length] != '_')
        return std::nullopt;
    const std::string id(presented.substr(key_prefix.size(), id_length));
    const std::string_view secret = presented.substr(key_prefix.size() + id_length + 1);
    if (!is_hex(id) || !is_hex(secret))
        return std::nullopt;
    Principal principal;
    bool stale_use = false;
    {
        Query select =
            db.query("SELECT owner, scopes, secret_hash, last_used_at < ? OR last_used_at IS NULL "
                     "FROM api_keys WHERE id = ? AND revoked_at IS NULL");
        select->bind(1, format_utc(now - std::chrono::minutes(1)));
        select->bind(2, id);
        if (!select->executeStep())
            return std::nullopt;
        // Hashes of equal length compared without an early exit: no timing tells how close a guess
        // was.
        if (!constant_time_equal(sha256_hex(secret), select->getColumn(2).getString()))
            return std::nullopt;
        principal.key_id = id;
        principal.scopes = parse_scopes(select->getColumn(1).getString());
        principal.owner = select->getColumn(0).getString();
        stale_use = select->getColumn(3).getInt() != 0;
    }
    if (stale_use) { // a write at most once a minute per key, not one per request
        Query touch = db.query("UPDATE api_keys SET last_used_at = ? WHERE id = ?");
        touch->bind(1, format_utc(now));
        touch->bind(2, id);
        try {
            touch->exec();
        } catch (const SQLite::Exception &e) {
            // Bookkeeping only: a database that cannot be written just now (full, read-only,
            // busy) must not refuse a read; the request's own writes report it. The next use
            // tries again.
            if (database_error(e).code() != ErrorCode::ServiceUnavailable)
                throw;
        }
    }
    return principal;
}

} // namespace tr
