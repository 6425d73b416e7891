-- The booking engine: resources (bookable owners, each with a calendar), bookings with their
-- customers and calendar event, and the booking log (one row per transition).
-- Ids exposed by the API are UUID strings; times are Unix milliseconds.

ALTER TABLE apps ADD COLUMN payment_window_seconds INTEGER NOT NULL DEFAULT 300;

CREATE TABLE resources (
    id         TEXT    PRIMARY KEY,
    app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    email      TEXT,
    timezone   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX resources_app ON resources (app_id, created_at);

CREATE TABLE calendars (
    id              TEXT    PRIMARY KEY,
    app_id          INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    resource_id     TEXT    NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    foregroundcolor TEXT    NOT NULL DEFAULT '#ffffff',
    backgroundcolor TEXT    NOT NULL DEFAULT '#4f46e5',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX calendars_resource ON calendars (resource_id);

CREATE TABLE bookings (
    id               TEXT    PRIMARY KEY,
    app_id           INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    resource_id      TEXT    NOT NULL REFERENCES resources (id),
    graph            TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    completed        INTEGER NOT NULL DEFAULT 0,
    start_at         INTEGER NOT NULL,
    end_at           INTEGER NOT NULL,
    meta             TEXT    NOT NULL DEFAULT '{}',
    max_seats        INTEGER,
    owner_booking_id TEXT    REFERENCES bookings (id),
    auto_complete    INTEGER NOT NULL DEFAULT 1,
    -- The next action the engine applies by itself, and when (NULL: none).
    due_action       TEXT,
    due_at           INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX bookings_app_created ON bookings (app_id, created_at DESC, id DESC);
CREATE INDEX bookings_app_graph_state ON bookings (app_id, graph, state);
CREATE INDEX bookings_due ON bookings (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX bookings_owner ON bookings (owner_booking_id) WHERE owner_booking_id IS NOT NULL;

CREATE TABLE customers (
    id         TEXT    PRIMARY KEY,
    booking_id TEXT    NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    email      TEXT    NOT NULL DEFAULT '',
    phone      TEXT,
    voip       TEXT,
    timezone   TEXT,
    meta       TEXT    NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX customers_booking ON customers (booking_id);

CREATE TABLE events (
    id          TEXT    PRIMARY KEY,
    booking_id  TEXT    NOT NULL UNIQUE REFERENCES bookings (id) ON DELETE CASCADE,
    calendar_id TEXT    NOT NULL REFERENCES calendars (id),
    what        TEXT    NOT NULL,
    "where"     TEXT    NOT NULL DEFAULT '',
    description TEXT    NOT NULL DEFAULT '',
    all_day     INTEGER NOT NULL DEFAULT 0,
    start_at    INTEGER NOT NULL,
    end_at      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE booking_logs (
    id          INTEGER PRIMARY KEY,
    booking_id  TEXT    NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    from_state  TEXT,
    action      TEXT    NOT NULL,
    to_state    TEXT    NOT NULL,
    -- Who applied it: 'api_key', 'admin' or 'engine', and which one.
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT,
    actor_label TEXT    NOT NULL DEFAULT '',
    -- The action's body (decline message, payment id), as JSON.
    details     TEXT    NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL
);
CREATE INDEX booking_logs_booking ON booking_logs (booking_id, id);
