-- Alerts and their outbox (docs/api.md, "Alerts"). An alert is written
-- here before anything is sent; the sender delivers what is due and
-- records every attempt, so a restart neither repeats nor forgets one.
-- Times are Unix milliseconds.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    fired_at_ms INTEGER NOT NULL,
    resolved_at_ms INTEGER,
    message TEXT NOT NULL
);
-- At most one alert of a rule open per service.
CREATE UNIQUE INDEX alerts_open ON alerts (service, rule) WHERE resolved_at_ms IS NULL;
CREATE INDEX alerts_by_time ON alerts (fired_at_ms);

-- One message to one channel: an alert firing, resolved or re-notified.
CREATE TABLE alert_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL REFERENCES alerts (id),
    event TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    -- When the next attempt is due; NULL once delivered or given up.
    due_at_ms INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at_ms INTEGER,
    given_up_at_ms INTEGER,
    last_error TEXT
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (due_at_ms) WHERE due_at_ms IS NOT NULL;
CREATE INDEX alert_deliveries_by_alert ON alert_deliveries (alert_id);
