// core/component_restarts: the launcher's restarts as the status endpoint reads them: every
// component always listed, counts that add up, the latest exit and time kept. Every test works
// on a real, freshly migrated SQLite file.
#include "core/component_restarts.h"

#include "core/db.h"
#include "core/migrate.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

namespace tr {
namespace {

using std::chrono::seconds;
using test::TempDir;

const TimePoint t0 = TimePoint(seconds(1800000000)); // 2027-01-15T08:00:00Z

class ComponentRestartsTable : public ::testing::Test {
protected:
    ComponentRestartsTable() : path_(dir_ / "tasks.db") {
        prepare_database_file(path_);
        db_ = std::make_unique<Db>(path_);
        migrate(db_->handle());
    }

    Db &db() { return *db_; }

    TempDir dir_;
    std::string path_;
    std::unique_ptr<Db> db_;
};

TEST_F(ComponentRestartsTable, ListsEveryComponentWithZerosBeforeAnyRestart) {
    const std::vector<ComponentRestarts> rows = read_component_restarts(db());
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].component, "runner");
    EXPECT_EQ(rows[1].component, "fcgi");
    EXPECT_EQ(rows[2].component, "nginx");
    for (const ComponentRestarts &row : rows) {
        EXPECT_EQ(row.restarts, 0) << row.component;
        EXPECT_EQ(row.last_exit, std::nullopt) << row.component;
        EXPECT_EQ(row.last_restart_at, std::nullopt) << row.component;
    }
}

TEST_F(ComponentRestartsTable, CountsRestartsAndKeepsTheLatestExitAndTime) {
    record_component_restart(db(), "fcgi", "killed by signal 9 (Killed)", t0);
    record_component_restart(db(), "fcgi", "exit code 1", t0 + seconds(2));
    record_component_restart(db(), "nginx", "killed by signal 9 (Killed)", t0 + seconds(5));
    const std::vector<ComponentRestarts> rows = read_component_restarts(db());
    EXPECT_EQ(rows[0].restarts, 0); // the runner was never restarted
    EXPECT_EQ(rows[1].restarts, 2);
    EXPECT_EQ(rows[1].last_exit, "exit code 1");
    EXPECT_EQ(rows[1].last_restart_at, "2027-01-15T08:00:02.000Z");
    EXPECT_EQ(rows[2].restarts, 1);
    EXPECT_EQ(rows[2].last_exit, "killed by signal 9 (Killed)");
    EXPECT_EQ(rows[2].last_restart_at, "2027-01-15T08:00:05.000Z");
}

} // namespace
} // namespace tr
