// The provider_backoff table.
#include "core/provider_backoff.h"

namespace tr {

void record_provider_backoff(Db &db, const ProviderBackoff &backoff, TimePoint now) {
    Query upsert = db.query(
        "INSERT INTO provider_backoff (endpoint, provider, until, status, reason, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (endpoint) DO UPDATE SET "
        "until = max(until, excluded.until), provider = excluded.provider, "
        "status = excluded.status, reason = excluded.reason, updated_at = excluded.updated_at");
    upsert->bind(1, backoff.endpoint);
    upsert->bind(2, backoff.provider);
    upsert->bind(3, backoff.until);
    upsert->bind(4, static_cast<int64_t>(backoff.status));
    upsert->bind(5, backoff.reason);
    upsert->bind(6, format_utc(now));
    upsert->exec();
}

std::optional<TimePoint> provider_backoff_until(Db &db, const std::string &endpoint,
                                                TimePoint now) {
    Query select = db.query("SELECT until FROM provider_backoff WHERE endpoint = ? AND until > ?");
    select->bind(1, endpoint);
    select->bind(2, format_utc(now));
    if (!select->executeStep())
        return std::nullopt;
    return parse_utc(select->getColumn(0).getString());
}

std::vector<ProviderBackoff> active_provider_backoffs(Db &db, TimePoint now) {
    Query select = db.query("SELECT endpoint, provider, until, status, coalesce(reason, '') "
                            "FROM provider_backoff WHERE until > ? ORDER BY until");
    select->bind(1, format_utc(now));
    std::vector<ProviderBackoff> backoffs;
    while (select->executeStep())
        backoffs.push_back({select->getColumn(0).getString(), select->getColumn(1).getString(),
                            select->getColumn(2).getString(), select->getColumn(3).getInt64(),
                            select->getColumn(4).getString()});
    return backoffs;
}

} // namespace tr
