-- History roll-up (see server/src/history). A bucket is one service's hour
-- or day: counts, the milliseconds its results cover (the rest of the span
-- is unknown), latency sum/min/max in microseconds, a mergeable latency
-- histogram. The hours within the raw window keep their results, packed, in
-- raw_hours: a table of their own, so that dropping them frees whole pages.
CREATE TABLE hourly_buckets (
    service_id INTEGER NOT NULL REFERENCES services (id),
    start_ms INTEGER NOT NULL,
    total INTEGER NOT NULL,
    successful INTEGER NOT NULL,
    known_ms INTEGER NOT NULL,
    latency_sum_us INTEGER NOT NULL,
    latency_min_us INTEGER NOT NULL,
    latency_max_us INTEGER NOT NULL,
    last_at_ms INTEGER,
    histogram BLOB NOT NULL,
    -- Set while the hour is under way: the bucket counts its hot rows
    -- checked before this time (see history_state).
    through_ms INTEGER,
    PRIMARY KEY (service_id, start_ms)
) WITHOUT ROWID;

CREATE TABLE raw_hours (
    service_id INTEGER NOT NULL REFERENCES services (id),
    start_ms INTEGER NOT NULL,
    results BLOB NOT NULL,
    PRIMARY KEY (service_id, start_ms)
);

CREATE TABLE daily_buckets (
    service_id INTEGER NOT NULL REFERENCES services (id),
    start_ms INTEGER NOT NULL,
    total INTEGER NOT NULL,
    successful INTEGER NOT NULL,
    known_ms INTEGER NOT NULL,
    latency_sum_us INTEGER NOT NULL,
    latency_min_us INTEGER NOT NULL,
    latency_max_us INTEGER NOT NULL,
    last_at_ms INTEGER,
    histogram BLOB NOT NULL,
    PRIMARY KEY (service_id, start_ms)
) WITHOUT ROWID;

-- Hot rows are read by time across services when an hour is rolled up.
CREATE INDEX probe_results_by_time ON probe_results (checked_at_ms);

-- provisional_through_ms: hot rows checked before it are counted in buckets.
CREATE TABLE history_state (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
