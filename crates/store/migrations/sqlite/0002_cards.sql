-- Cards, their events (append-only, chained per card with SM3), production batches,
-- fees and the outbox (SQLite).
CREATE TABLE cards (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_hash TEXT NOT NULL,
    region TEXT NOT NULL,
    state TEXT NOT NULL,
    card_number TEXT,
    certificate_number TEXT UNIQUE,
    batch_id INTEGER,
    due_on TEXT,
    version INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX cards_by_person ON cards (person_hash);
CREATE INDEX cards_by_state ON cards (region, state);
CREATE INDEX cards_by_batch ON cards (batch_id);
CREATE INDEX cards_by_number ON cards (card_number);
CREATE TABLE card_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    card_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    actor TEXT NOT NULL,
    channel TEXT NOT NULL,
    place TEXT,
    at TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (card_id, seq)
);
CREATE TRIGGER card_events_no_update BEFORE UPDATE ON card_events
BEGIN SELECT RAISE(ABORT, 'card_events is append-only'); END;
CREATE TRIGGER card_events_no_delete BEFORE DELETE ON card_events
BEGIN SELECT RAISE(ABORT, 'card_events is append-only'); END;
CREATE TABLE production_batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    region TEXT NOT NULL,
    snapshot_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    excluded TEXT NOT NULL
);
CREATE TABLE fees (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    card_id INTEGER NOT NULL,
    person_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    card_id INTEGER NOT NULL,
    payload TEXT NOT NULL,
    at TEXT NOT NULL,
    delivered_at TEXT
);
