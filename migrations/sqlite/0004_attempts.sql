-- The delivery worker: per-endpoint controls, endpoint health, and one row per attempt.

ALTER TABLE webhooks ADD COLUMN rate_limit_per_second INTEGER;
ALTER TABLE webhooks ADD COLUMN ordered INTEGER NOT NULL DEFAULT 0;
-- Start of the current run of nothing but failures (NULL after a success).
ALTER TABLE webhooks ADD COLUMN failing_since INTEGER;

CREATE INDEX deliveries_lease ON deliveries (lease_until) WHERE status = 'delivering';
CREATE INDEX deliveries_open_by_webhook ON deliveries (webhook_id, id) WHERE status IN ('pending', 'delivering');

CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY,
    delivery_id      INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    app_id           INTEGER NOT NULL,
    webhook_id       TEXT    NOT NULL,
    attempt          INTEGER NOT NULL,
    -- What caused it: 'scheduled' (the worker), 'manual' (redeliver), 'test' (a test event).
    trigger          TEXT    NOT NULL,
    outcome          TEXT    NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    request_url      TEXT    NOT NULL,
    request_headers  TEXT    NOT NULL,
    response_status  INTEGER,
    response_headers TEXT,
    -- The first 20 KB of the response body.
    response_body    TEXT,
    error            TEXT,
    next_attempt_at  INTEGER
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, id);
CREATE INDEX attempts_webhook_time ON attempts (webhook_id, started_at);
