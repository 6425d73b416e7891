-- One row that /readyz writes: readiness is "the database can be written", and only a write
-- that commits can tell (a full disk still answers reads). Numbered 0011, after #19's 0010.
CREATE TABLE storage_probe (
    id INTEGER PRIMARY KEY,
    checked_at INTEGER NOT NULL
);
