-- A value sealed with the key that encrypts webhook secrets: an instance started with another
-- key cannot open it and refuses to start, even before any webhook exists.
CREATE TABLE key_check (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    sealed TEXT    NOT NULL
);
