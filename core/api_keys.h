// API keys: "trk_<id>_<secret>". The id is public (logs, audit rows, `keys list`); the secret is
// 256 bits from the kernel's CSPRNG and stored only as its SHA-256, compared in constant time.
// Scopes: read (GET endpoints), submit (submit and cancel tasks, batches), admin (everything,
// including configuration). A key sees the tasks of its owner; an admin key sees all.
#pragma once

#include "core/db.h"
#include "core/time.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tr {

enum class Scope { None, Read, Submit, Admin };

const char *to_string(Scope scope) noexcept;

struct Principal {
    std::string key_id; // empty when authentication is off
    std::string owner;  // stamped on what it submits; empty when authentication is off
    std::vector<Scope> scopes;

    bool has(Scope scope) const;
    // Admin keys, and everyone when authentication is off, see every owner's tasks.
    bool sees_all() const { return has(Scope::Admin); }
};

// The principal of a service without authentication: every scope, every task.
Principal open_access();

struct CreatedKey {
    std::string id;
    std::string key;            // the whole key: shown once, never stored
    std::string webhook_secret; // signs its tasks' callbacks (core/webhook_secrets.h)
};

// `made_by` is who makes it ("alice (uid 1000)", core/local_user.h), stored in the key's row
// for the audit (audit_changes). Throws Error(InvalidRequest) for an empty or malformed owner,
// or unknown or no scopes.
CreatedKey create_api_key(Db &db, const std::string &owner, const std::vector<std::string> &scopes,
                          const std::string &description, const std::string &made_by,
                          TimePoint now);

struct KeyInfo {
    std::string id;
    std::string owner;
    std::string scopes;
    std::string description;
    std::string created_at;
    std::optional<std::string> last_used_at;
    std::optional<std::string> revoked_at;
};

std::vector<KeyInfo> list_api_keys(Db &db);

// False when there is no such key or it was already revoked. `revoked_by` is stored with the
// revocation, as create_api_key's made_by.
bool revoke_api_key(Db &db, const std::string &id, const std::string &revoked_by, TimePoint now);

// The principal a presented key stands for, or nullopt when it is malformed, unknown, revoked
// or wrong. Records the use (at most once a minute per key).
std::optional<Principal> authenticate_key(Db &db, std::string_view presented, TimePoint now);

} // namespace tr
