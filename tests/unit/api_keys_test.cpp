// core/api_keys: authenticating a key. Recording a key's use is bookkeeping: a database that
// cannot be written just now does not turn a read into an error.
#include "core/api_keys.h"

#include "core/migrate.h"
#include "test_support.h"

#include <gtest/gtest.h>

namespace tr {
namespace {

using test::TempDir;

// Regression: with the disk full, every request of a key not used for a minute failed, reads
// included, because writing its last use failed.
TEST(AuthenticateKey, AcceptsAKeyWhoseLastUseCannotBeWritten) {
    TempDir dir;
    Db db(dir / "tasks.db");
    migrate(db.handle());
    const CreatedKey created = create_api_key(db, "alice", {"read"}, "", "test", Clock::now());
    db.handle().exec("PRAGMA query_only = ON"); // writes fail with SQLITE_READONLY
    const std::optional<Principal> principal = authenticate_key(db, created.key, Clock::now());
    ASSERT_TRUE(principal);
    EXPECT_EQ(principal->owner, "alice");
    EXPECT_TRUE(principal->has(Scope::Read));
    db.handle().exec("PRAGMA query_only = OFF");
    EXPECT_TRUE(
        db.handle().execAndGet("SELECT last_used_at FROM api_keys").isNull()); // tried later
    ASSERT_TRUE(authenticate_key(db, created.key, Clock::now()));
    EXPECT_FALSE(db.handle().execAndGet("SELECT last_used_at FROM api_keys").isNull());
}

TEST(AuthenticateKey, AFailureThatIsNotTheDatabasesStateStillFails) {
    TempDir dir;
    Db db(dir / "tasks.db");
    migrate(db.handle());
    const CreatedKey created = create_api_key(db, "alice", {"read"}, "", "test", Clock::now());
    // A trigger that refuses the update: a constraint, not a full or read-only database.
    db.handle().exec("CREATE TRIGGER no_touch BEFORE UPDATE OF last_used_at ON api_keys "
                     "BEGIN SELECT RAISE(ABORT, 'refused'); END");
    EXPECT_THROW(authenticate_key(db, created.key, Clock::now()), SQLite::Exception);
}

} // namespace
} // namespace tr
