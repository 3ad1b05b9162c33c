// The task list: keyset pages, filters, and query plans that stay index range reads however
// many tasks there are.
#include "core/task_list.h"

#include "core/migrate.h"
#include "core/task_store.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <set>

namespace tr {
namespace {

class TaskListTest : public ::testing::Test {
protected:
    TaskListTest() : path_(dir_ / "tasks.db") {
        prepare_database_file(path_);
        db_ = std::make_unique<Db>(path_);
        migrate(db_->handle());
    }

    std::string insert(const std::string &text, Priority priority, int second,
                       const std::string &owner = "") {
        TaskRequest request;
        request.task = text;
        request.priority = priority;
        const TimePoint at =
            parse_utc("2026-11-29T10:00:00Z").value() + std::chrono::seconds(second);
        return insert_task(*db_, request, {owner, "", 0, ""}, at).id;
    }

    std::vector<std::string> ids(const JsonPtr &page) {
        std::vector<std::string> out;
        std::size_t index;
        json_t *task;
        json_array_foreach(json_object_get(page.get(), "tasks"), index, task)
            out.push_back(json_string_member(task, "task_id").value());
        return out;
    }

    test::TempDir dir_;
    std::string path_;
    std::unique_ptr<Db> db_;
};

TEST_F(TaskListTest, PagesWalkNewestFirstWithoutSkipsOrRepeats) {
    std::vector<std::string> inserted;
    for (int i = 0; i < 23; ++i)
        inserted.push_back(
            insert("task " + std::to_string(i), Priority::Normal, i / 3)); // ties in time
    std::vector<std::string> seen;
    TaskListQuery query;
    query.limit = 5;
    for (;;) {
        const JsonPtr page = list_tasks(*db_, query);
        for (const std::string &id : ids(page))
            seen.push_back(id);
        const json_t *next = json_object_get(page.get(), "next_cursor");
        if (json_is_null(next))
            break;
        query.cursor = decode_cursor(json_string_value(next));
        ASSERT_TRUE(query.cursor);
    }
    EXPECT_EQ(seen, std::vector<std::string>(inserted.rbegin(), inserted.rend()));
}

TEST_F(TaskListTest, FiltersCombine) {
    const std::string a = insert("a", Priority::High, 1, "alice");
    insert("b", Priority::Low, 2, "alice");
    const std::string c = insert("c", Priority::High, 3, "bob");
    TaskListQuery query;
    query.priority = "high";
    EXPECT_EQ(ids(list_tasks(*db_, query)), (std::vector<std::string>{c, a}));
    query.owner = "alice";
    EXPECT_EQ(ids(list_tasks(*db_, query)), std::vector<std::string>{a});
    query.status = "completed";
    EXPECT_TRUE(ids(list_tasks(*db_, query)).empty());
}

TEST(TaskCursor, RoundTripsAndRefusesAnythingElse) {
    const TaskCursor cursor{"2026-11-29T10:00:00.123Z", 42};
    const std::optional<TaskCursor> back = decode_cursor(encode_cursor(cursor));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->created_at, cursor.created_at);
    EXPECT_EQ(back->rowid, 42);
    for (const char *bad :
         {"", "~", "abc~1", "2026-11-29T10:00:00.123Z~", "2026-11-29T10:00:00.123Z~x",
          "2026-11-29T10:00:00Z~1", "2026-11-29T10:00:00.123Z~1' OR 1=1"})
        EXPECT_FALSE(decode_cursor(bad)) << bad;
}

// "Fast on a million rows": every combination of filters is an index range read in list order,
// never a scan of the table or a sort. (ANALYZE first, as a long-lived database would have it.)
TEST_F(TaskListTest, EveryFilterCombinationReadsAnIndexInOrder) {
    for (int i = 0; i < 400; ++i)
        insert("task", static_cast<Priority>(i % 4), i, "owner" + std::to_string(i % 7));
    db_->handle().exec("ANALYZE");
    for (int filters = 0; filters < 16; ++filters) {
        SQLite::Statement plan(db_->handle(),
                               std::string("EXPLAIN QUERY PLAN ") + task_list_statement(filters));
        std::string text;
        while (plan.executeStep())
            text += plan.getColumn(3).getString() + "\n";
        EXPECT_TRUE(test::contains(text, "USING INDEX") ||
                    test::contains(text, "USING COVERING INDEX"))
            << filters << ":\n"
            << text;
        EXPECT_FALSE(test::contains(text, "TEMP B-TREE")) << filters << ":\n" << text;
        EXPECT_FALSE(test::contains(text, "SCAN tasks\n")) << filters << ":\n" << text;
    }
}

} // namespace
} // namespace tr
