-- Portal sessions (SPEC §8): the cookie holds a random id, only its keyed hash is kept;
-- the session acts with a token and ends at sign-out or when it expires.
CREATE TABLE portal_sessions (
    id_hash TEXT PRIMARY KEY,
    part TEXT NOT NULL,
    token_id INTEGER NOT NULL REFERENCES tokens (id),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    ended_at TEXT
);
-- One-time sign-in codes sent to a holder's phone: only the code's keyed hash is kept,
-- a newer code supersedes the older ones, a code is used once.
CREATE TABLE sign_in_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_hash TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX sign_in_codes_of_person ON sign_in_codes (person_hash, id);
-- Messages to people (短信 SMS) waiting for the gateway that sends them; the phone and the
-- text are encrypted like the person record.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose TEXT NOT NULL,
    phone_enc BLOB NOT NULL,
    body_enc BLOB NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX messages_unsent ON messages (id) WHERE sent_at IS NULL;
