-- History roll-up (see server/src/history). A bucket is one service's hour
-- or day: counts, the milliseconds its results cover (the rest of the span
-- is unknown), latency sum/min/max in microseconds, a mergeable latency
-- histogram, and for hours within the raw window the hour's results packed.
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
    results BYTEA,
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
