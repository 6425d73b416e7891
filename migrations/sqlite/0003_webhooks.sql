-- Webhooks (per app, subscribed to graph/state pairs) and the outbox of deliveries that a
-- booking transition writes in its own transaction.

CREATE TABLE webhooks (
    id                          TEXT    PRIMARY KEY,
    app_id                      INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name                        TEXT    NOT NULL,
    description                 TEXT    NOT NULL DEFAULT '',
    url                         TEXT    NOT NULL,
    enabled                     INTEGER NOT NULL DEFAULT 1,
    -- Why it is off when it is: 'manual', 'gone' (the receiver answered 410), 'failing'.
    disabled_reason             TEXT,
    disabled_at                 INTEGER,
    -- The signing secret (whsec_…) and, during a rotation, the previous one until it expires.
    secret                      TEXT    NOT NULL,
    previous_secret             TEXT,
    previous_secret_expires_at  INTEGER,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL
);
CREATE INDEX webhooks_app ON webhooks (app_id, created_at);

CREATE TABLE webhook_events (
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    graph      TEXT NOT NULL,
    state      TEXT NOT NULL,
    PRIMARY KEY (webhook_id, graph, state)
);
CREATE INDEX webhook_events_match ON webhook_events (graph, state);

-- One row per message: a booking transition for one webhook. The payload is a snapshot taken in
-- the transition's transaction; later edits of the webhook or the booking do not change it.
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY,
    msg_id           TEXT    NOT NULL UNIQUE,
    app_id           INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    webhook_id       TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    booking_id       TEXT    NOT NULL,
    graph            TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    action           TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    -- pending → (delivering) → delivered | failed; retries stay pending with a later next_attempt_at.
    status           TEXT    NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_until      INTEGER,
    last_status_code INTEGER,
    last_error       TEXT,
    is_test          INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_app ON deliveries (app_id, id DESC);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id DESC);
CREATE INDEX deliveries_booking ON deliveries (booking_id);
