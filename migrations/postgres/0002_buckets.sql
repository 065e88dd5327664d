-- History roll-up (see server/src/history). A bucket is one service's hour
-- or day: counts, the milliseconds its results cover (the rest of the span
-- is unknown), latency sum/min/max in microseconds, a mergeable latency
-- histogram. The hours within the raw window keep their results, packed, in
-- raw_hours: a table of their own, so that dropping them frees whole pages.
-- Eight-byte columns first: Postgres pads for alignment.
CREATE TABLE hourly_buckets (
    start_ms BIGINT NOT NULL,
    latency_sum_us BIGINT NOT NULL,
    last_at_ms BIGINT,
    service_id BIGINT NOT NULL REFERENCES services (id),
    total INTEGER NOT NULL,
    successful INTEGER NOT NULL,
    known_ms INTEGER NOT NULL,
    latency_min_us INTEGER NOT NULL,
    latency_max_us INTEGER NOT NULL,
    histogram BYTEA NOT NULL,
    -- Set while the hour is under way: the bucket counts its hot rows
    -- checked before this time (see history_state).
    through_ms BIGINT,
    PRIMARY KEY (service_id, start_ms)
);

CREATE TABLE raw_hours (
    service_id BIGINT NOT NULL REFERENCES services (id),
    start_ms BIGINT NOT NULL,
    results BYTEA NOT NULL,
    PRIMARY KEY (service_id, start_ms)
);

CREATE TABLE daily_buckets (
    start_ms BIGINT NOT NULL,
    latency_sum_us BIGINT NOT NULL,
    last_at_ms BIGINT,
    service_id BIGINT NOT NULL REFERENCES services (id),
    total INTEGER NOT NULL,
    successful INTEGER NOT NULL,
    known_ms INTEGER NOT NULL,
    latency_min_us INTEGER NOT NULL,
    latency_max_us INTEGER NOT NULL,
    histogram BYTEA NOT NULL,
    PRIMARY KEY (service_id, start_ms)
);

CREATE INDEX probe_results_by_time ON probe_results (checked_at_ms);

-- provisional_through_ms: hot rows checked before it are counted in buckets.
CREATE TABLE history_state (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- The provisional bucket of the hour under way and its day are rewritten
-- every minute: room in each page lets Postgres update them in place.
ALTER TABLE hourly_buckets SET (fillfactor = 90);
ALTER TABLE daily_buckets SET (fillfactor = 90);
