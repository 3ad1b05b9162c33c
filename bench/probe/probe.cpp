// bench-probe: the ceiling bench/run measures Task Runner against. nginx forwards to a pool of
// libfcgi threads (FCGX_Accept_r); each request's handler reads the POST body, parses it with
// Jansson, checks that it is an object with a non-empty "task" string, inserts one row into a
// SQLite table (WAL, one transaction per request, synchronous NORMAL or FULL as asked) and
// answers 202 with the row's id. Nothing more: no validation beyond that, no auth, no indexes
// but the primary key. It is thin, not wrong: a bad body gets a 400 and a failed insert a 503.
//
//   bench-probe --socket PATH --database PATH --synchronous normal|full --threads N
#include <fcgiapp.h>
#include <jansson.h>
#include <sqlite3.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr long max_body_bytes = 1024L * 1024L; // nginx's client_max_body_size

struct Options {
    std::string socket;
    std::string database;
    std::string synchronous = "normal";
    int threads = 16;
};

struct SqliteCloser {
    void operator()(sqlite3 *db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
    void operator()(sqlite3_stmt *statement) const { sqlite3_finalize(statement); }
};
struct JsonReleaser {
    void operator()(json_t *json) const { json_decref(json); }
};
using DbPtr = std::unique_ptr<sqlite3, SqliteCloser>;
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;
using JsonPtr = std::unique_ptr<json_t, JsonReleaser>;

// FCGX_Finish_r on every exit from a request, so an exception cannot leave one unanswered.
class AcceptedRequest {
public:
    explicit AcceptedRequest(FCGX_Request &request) : request_(request) {}
    AcceptedRequest(const AcceptedRequest &) = delete;
    AcceptedRequest &operator=(const AcceptedRequest &) = delete;
    ~AcceptedRequest() { FCGX_Finish_r(&request_); }

private:
    FCGX_Request &request_;
};

void exec(sqlite3 *db, const std::string &sql) {
    char *message = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        const std::string text = message ? message : sqlite3_errmsg(db);
        sqlite3_free(message);
        throw std::runtime_error("probe: \"" + sql + "\": " + text);
    }
}

DbPtr open_database(const Options &options) {
    sqlite3 *raw = nullptr;
    const int rc = sqlite3_open_v2(options.database.c_str(), &raw,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    DbPtr db(raw);
    if (rc != SQLITE_OK)
        throw std::runtime_error("probe: cannot open " + options.database + ": " +
                                 (raw ? sqlite3_errmsg(raw) : "out of memory"));
    sqlite3_busy_timeout(db.get(), 5000);
    exec(db.get(), "PRAGMA journal_mode = WAL");
    exec(db.get(), "PRAGMA synchronous = " + options.synchronous);
    return db;
}

StatementPtr prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *raw = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK)
        throw std::runtime_error(std::string("probe: cannot prepare: ") + sqlite3_errmsg(db));
    return StatementPtr(raw);
}

void answer(FCGX_Request &request, int status, const std::string &body) {
    const std::string head =
        "Status: " + std::to_string(status) +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n";
    FCGX_PutStr(head.data(), static_cast<int>(head.size()), request.out);
    FCGX_PutStr(body.data(), static_cast<int>(body.size()), request.out);
}

std::string read_body(FCGX_Request &request) {
    const char *length = FCGX_GetParam("CONTENT_LENGTH", request.envp);
    const long size = length ? std::strtol(length, nullptr, 10) : 0;
    if (size <= 0 || size > max_body_bytes)
        return {};
    std::string body(static_cast<std::size_t>(size), '\0');
    const int got = FCGX_GetStr(body.data(), static_cast<int>(size), request.in);
    body.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    return body;
}

// The statement's bindings point into one request's body (SQLITE_STATIC, no copy): cleared
// before that body goes.
class BoundStatement {
public:
    explicit BoundStatement(sqlite3_stmt *statement) : statement_(statement) {}
    BoundStatement(const BoundStatement &) = delete;
    BoundStatement &operator=(const BoundStatement &) = delete;
    ~BoundStatement() {
        sqlite3_reset(statement_);
        sqlite3_clear_bindings(statement_);
    }

private:
    sqlite3_stmt *statement_;
};

// One request: parse, insert, answer. The insert is its own transaction (autocommit).
void handle(FCGX_Request &request, sqlite3 *db, sqlite3_stmt *insert) {
    const std::string body = read_body(request);
    json_error_t error;
    const JsonPtr json(json_loadb(body.data(), body.size(), 0, &error));
    const json_t *task = json ? json_object_get(json.get(), "task") : nullptr;
    if (!json_is_string(task) || json_string_length(task) == 0) {
        answer(request, 400, R"({"error":"the body must be a JSON object with a task"})");
        return;
    }
    const BoundStatement bound(insert);
    sqlite3_bind_text(insert, 1, json_string_value(task), -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 2, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
    if (sqlite3_step(insert) != SQLITE_DONE) {
        std::cerr << "probe: insert failed: " << sqlite3_errmsg(db) << "\n";
        answer(request, 503, R"({"error":"the insert failed"})");
        return;
    }
    answer(request, 202,
           R"({"task_id":)" + std::to_string(sqlite3_last_insert_rowid(db)) +
               R"(,"status":"queued"})");
}

void serve(int listen_socket, const Options &options) {
    const DbPtr db = open_database(options);
    const StatementPtr insert =
        prepare(db.get(), "INSERT INTO tasks (task, body, created_at) VALUES (?, ?, "
                          "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
    FCGX_Request request;
    FCGX_InitRequest(&request, listen_socket, 0);
    while (FCGX_Accept_r(&request) == 0) {
        const AcceptedRequest finish(request);
        handle(request, db.get(), insert.get());
    }
}

Options parse(int argc, char **argv) {
    Options options;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string name = argv[i];
        const std::string value = argv[i + 1];
        if (name == "--socket")
            options.socket = value;
        else if (name == "--database")
            options.database = value;
        else if (name == "--synchronous")
            options.synchronous = value;
        else if (name == "--threads")
            options.threads = std::stoi(value);
        else
            throw std::runtime_error("probe: unknown option " + name);
    }
    if (options.socket.empty() || options.database.empty() || options.threads < 1 ||
        (options.synchronous != "normal" && options.synchronous != "full"))
        throw std::runtime_error("usage: bench-probe --socket PATH --database PATH "
                                 "--synchronous normal|full --threads N");
    return options;
}

} // namespace

int main(int argc, char **argv) {
    try {
        const Options options = parse(argc, argv);
        exec(open_database(options).get(),
             "CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, task TEXT NOT NULL, "
             "body TEXT NOT NULL, created_at TEXT NOT NULL)");
        if (FCGX_Init() != 0)
            throw std::runtime_error("probe: FCGX_Init failed");
        // libfcgi turns SIGTERM into "finish after the next request", which never comes to a
        // thread blocked in accept. Every answered request is committed: nothing to finish.
        std::signal(SIGTERM, SIG_DFL);
        const int listen_socket = FCGX_OpenSocket(options.socket.c_str(), 1024);
        if (listen_socket < 0)
            throw std::runtime_error("probe: cannot listen on " + options.socket);
        std::vector<std::thread> pool;
        pool.reserve(static_cast<std::size_t>(options.threads));
        for (int i = 0; i < options.threads; ++i)
            pool.emplace_back([&] {
                try {
                    serve(listen_socket, options);
                } catch (const std::exception &e) {
                    std::cerr << e.what() << "\n";
                    std::exit(1);
                }
            });
        for (std::thread &thread : pool)
            thread.join();
    } catch (const std::exception &e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
    return 0;
}
