-- Hale schema, Postgres. Times are Unix milliseconds (UTC), latencies
-- microseconds: the same numbers as on SQLite, so one set of queries serves
-- both. `to_timestamp(checked_at_ms / 1000.0)` reads them as timestamps.
CREATE TABLE services (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE probe_results (
    id BIGSERIAL PRIMARY KEY,
    service_id BIGINT NOT NULL REFERENCES services (id),
    checked_at_ms BIGINT NOT NULL,
    success BOOLEAN NOT NULL,
    latency_us BIGINT NOT NULL,
    status_code INTEGER,
    message TEXT NOT NULL,
    -- JSON array of {"condition": …, "success": …}
    conditions TEXT NOT NULL,
    region TEXT
);
CREATE INDEX probe_results_by_service_time ON probe_results (service_id, checked_at_ms);

CREATE TABLE status_changes (
    id BIGSERIAL PRIMARY KEY,
    service_id BIGINT NOT NULL REFERENCES services (id),
    at_ms BIGINT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    cause TEXT NOT NULL
);
CREATE INDEX status_changes_by_service_time ON status_changes (service_id, at_ms);
