-- Hale schema, SQLite. Times are Unix milliseconds (UTC), latencies
-- microseconds: compact, and the same numbers as on Postgres.
CREATE TABLE services (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE probe_results (
    id INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL REFERENCES services (id),
    checked_at_ms INTEGER NOT NULL,
    success BOOLEAN NOT NULL,
    latency_us INTEGER NOT NULL,
    status_code INTEGER,
    message TEXT NOT NULL,
    -- JSON array of {"condition": …, "success": …}
    conditions TEXT NOT NULL,
    region TEXT
);
CREATE INDEX probe_results_by_service_time ON probe_results (service_id, checked_at_ms);

CREATE TABLE status_changes (
    id INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL REFERENCES services (id),
    at_ms INTEGER NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    cause TEXT NOT NULL
);
CREATE INDEX status_changes_by_service_time ON status_changes (service_id, at_ms);
