// core/api_keys: keys are made only for a valid owner and known scopes; a presented key stands for
// its principal only when it is well formed, known, not revoked and its secret matches; only the
// secret's hash is stored; a use is recorded at most once a minute; who made and revoked a key is
// recorded with it.
#include "core/api_keys.h"

#include "core/digest.h"
#include "core/error.h"
#include "core/migrate.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tr {
namespace {

using test::contains;

const TimePoint start = parse_utc("2026-12-01T10:00:00Z").value();

class ApiKeysTest : public ::testing::Test {
protected:
    ApiKeysTest() : path_(dir_ / "tasks.db") {
        prepare_database_file(path_);
        db_ = std::make_unique<Db>(path_);
        migrate(db_->handle());
    }

    CreatedKey create(const std::string &owner, const std::vector<std::string> &scopes,
                      const std::string &description = "") {
        return create_api_key(*db_, owner, scopes, description, "alice (uid 1000)", start);
    }

    // The message of the InvalidRequest that creating this key throws.
    std::string refusal(const std::string &owner, const std::vector<std::string> &scopes) {
        try {
            create(owner, scopes);
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
            return e.what();
        }
        ADD_FAILURE() << "a key was made for owner \"" << owner << "\"";
        return "";
    }

    int stored_keys() { return db_->handle().execAndGet("SELECT count(*) FROM api_keys").getInt(); }

    std::optional<std::string> last_used(const std::string &id) {
        SQLite::Statement select(db_->handle(), "SELECT last_used_at FROM api_keys WHERE id = ?");
        select.bind(1, id);
        EXPECT_TRUE(select.executeStep());
        return optional_text(select.getColumn(0));
    }

    test::TempDir dir_;
    std::string path_;
    std::unique_ptr<Db> db_;
};

TEST_F(ApiKeysTest, AKeyIsItsPrefixPublicIdAndSecret) {
    const CreatedKey created = create("alice", {"read"});
    ASSERT_EQ(created.id.size(), 12u);
    ASSERT_EQ(created.key.size(), 4u + 12 + 1 + 64);
    EXPECT_EQ(created.key.substr(0, 4), "trk_");
    EXPECT_EQ(created.key.substr(4, 12), created.id);
    EXPECT_EQ(created.key[16], '_');
    EXPECT_NE(create("alice", {"read"}).key, created.key);
}

TEST_F(ApiKeysTest, OnlyTheSecretsHashIsStored) {
    const CreatedKey created = create("alice", {"read"});
    const std::string secret = created.key.substr(17);
    SQLite::Statement select(db_->handle(), "SELECT * FROM api_keys");
    ASSERT_TRUE(select.executeStep());
    for (int i = 0; i < select.getColumnCount(); ++i) {
        const std::string value = select.getColumn(i).getString();
        EXPECT_FALSE(contains(value, secret)) << select.getColumnName(i);
    }
    EXPECT_EQ(select.getColumn("secret_hash").getString(), sha256_hex(secret));
}

TEST_F(ApiKeysTest, AMalformedOwnerIsRefused) {
    for (const std::string &owner :
         std::vector<std::string>{"", ".", "..", "al ice", "a/b", std::string(101, 'a')})
        EXPECT_TRUE(contains(refusal(owner, {"read"}), "owner must be 1..100 characters")) << owner;
    EXPECT_TRUE(contains(refusal("a/b", {"read"}), "(got \"a/b\")"));
    EXPECT_EQ(stored_keys(), 0);
}

TEST_F(ApiKeysTest, AKeyWithoutScopesIsRefused) {
    EXPECT_EQ(refusal("alice", {}), "give at least one scope: read, submit, admin");
    EXPECT_EQ(stored_keys(), 0);
}

TEST_F(ApiKeysTest, AnUnknownScopeIsRefusedByName) {
    EXPECT_EQ(refusal("alice", {"read", "write"}),
              "scopes are read, submit and admin (got \"write\")");
    EXPECT_EQ(refusal("alice", {"Admin"}), "scopes are read, submit and admin (got \"Admin\")");
    EXPECT_EQ(stored_keys(), 0);
}

TEST_F(ApiKeysTest, ListingShowsOwnerScopesOnceAndDescription) {
    create("alice", {"read", "submit", "read"}, "laptop");
    create("bob", {"admin"});
    const std::vector<KeyInfo> keys = list_api_keys(*db_);
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[0].owner, "alice");
    EXPECT_EQ(keys[0].scopes, "read,submit");
    EXPECT_EQ(keys[0].description, "laptop");
    EXPECT_EQ(keys[0].created_at, "2026-12-01T10:00:00.000Z");
    EXPECT_EQ(keys[0].last_used_at, std::nullopt);
    EXPECT_EQ(keys[0].revoked_at, std::nullopt);
    EXPECT_EQ(keys[1].owner, "bob");
    EXPECT_EQ(keys[1].description, "");
}

TEST_F(ApiKeysTest, AValidKeyStandsForItsOwnerAndScopes) {
    const CreatedKey created = create("alice", {"read", "submit"});
    const std::optional<Principal> principal = authenticate_key(*db_, created.key, start);
    ASSERT_TRUE(principal);
    EXPECT_EQ(principal->key_id, created.id);
    EXPECT_EQ(principal->owner, "alice");
    EXPECT_TRUE(principal->has(Scope::Read));
    EXPECT_TRUE(principal->has(Scope::Submit));
    EXPECT_FALSE(principal->has(Scope::Admin));
    EXPECT_TRUE(principal->has(Scope::None)); // open endpoints
    EXPECT_FALSE(principal->sees_all());
}

TEST_F(ApiKeysTest, AnAdminKeyHasEveryScopeAndSeesEveryOwner) {
    const std::optional<Principal> admin =
        authenticate_key(*db_, create("ops", {"admin"}).key, start);
    ASSERT_TRUE(admin);
    EXPECT_TRUE(admin->has(Scope::Read));
    EXPECT_TRUE(admin->has(Scope::Submit));
    EXPECT_TRUE(admin->sees_all());
    EXPECT_TRUE(open_access().sees_all());
}

TEST_F(ApiKeysTest, AWrongSecretIsRefused) {
    std::string key = create("alice", {"read"}).key;
    key.back() = key.back() == '0' ? '1' : '0';
    EXPECT_EQ(authenticate_key(*db_, key, start), std::nullopt);
}

TEST_F(ApiKeysTest, MalformedKeysAreRefused) {
    const std::string key = create("alice", {"read"}).key;
    std::string upper = key; // hex digits are lower case
    upper[20] = 'A';
    std::string bad_id = key;
    bad_id[5] = 'g';
    std::string no_separator = key;
    no_separator[16] = 'a';
    for (const std::string &presented : {std::string(), key.substr(0, key.size() - 1), key + "0",
                                         "xyz_" + key.substr(4), upper, bad_id, no_separator})
        EXPECT_EQ(authenticate_key(*db_, presented, start), std::nullopt) << presented;
    EXPECT_TRUE(authenticate_key(*db_, key, start)); // the real one still works
}

TEST_F(ApiKeysTest, AnUnknownIdIsRefused) {
    const std::string key = create("alice", {"read"}).key;
    std::string other = key;
    other[4] = key[4] == 'a' ? 'b' : 'a';
    EXPECT_EQ(authenticate_key(*db_, other, start), std::nullopt);
}

TEST_F(ApiKeysTest, ARevokedKeyIsRefusedAndRevokingAgainSaysSo) {
    const CreatedKey created = create("alice", {"read"});
    EXPECT_TRUE(
        revoke_api_key(*db_, created.id, "bob (uid 1001)", start + std::chrono::seconds(5)));
    EXPECT_EQ(authenticate_key(*db_, created.key, start + std::chrono::seconds(6)), std::nullopt);
    EXPECT_FALSE(
        revoke_api_key(*db_, created.id, "bob (uid 1001)", start + std::chrono::seconds(7)));
    EXPECT_FALSE(revoke_api_key(*db_, "000000000000", "bob (uid 1001)", start));
    EXPECT_EQ(list_api_keys(*db_)[0].revoked_at, "2026-12-01T10:00:05.000Z");
}

// The audit (audit_changes) names who made and who revoked each key; a revocation refused
// (the key was revoked already) does not overwrite who did it.
TEST_F(ApiKeysTest, WhoMadeAndWhoRevokedAKeyAreRecordedWithTheChange) {
    const CreatedKey created = create("alice", {"read"});
    ASSERT_TRUE(revoke_api_key(*db_, created.id, "bob (uid 1001)", start));
    ASSERT_FALSE(revoke_api_key(*db_, created.id, "mallory (uid 1002)", start));
    SQLite::Statement row(db_->handle(), "SELECT created_by, revoked_by FROM api_keys");
    ASSERT_TRUE(row.executeStep());
    EXPECT_EQ(row.getColumn(0).getString(), "alice (uid 1000)");
    EXPECT_EQ(row.getColumn(1).getString(), "bob (uid 1001)");
}

TEST_F(ApiKeysTest, AUseIsRecordedAtMostOnceAMinute) {
    const CreatedKey created = create("alice", {"read"});
    ASSERT_TRUE(authenticate_key(*db_, created.key, start));
    EXPECT_EQ(last_used(created.id), "2026-12-01T10:00:00.000Z");
    ASSERT_TRUE(authenticate_key(*db_, created.key, start + std::chrono::seconds(30)));
    EXPECT_EQ(last_used(created.id), "2026-12-01T10:00:00.000Z");
    ASSERT_TRUE(authenticate_key(*db_, created.key, start + std::chrono::seconds(61)));
    EXPECT_EQ(last_used(created.id), "2026-12-01T10:01:01.000Z");
}

} // namespace
} // namespace tr
