-- Registry, access tokens, idempotency keys and calendar years (SQLite).
-- Personal data is encrypted (SM4-GCM, *_enc) and looked up by keyed hash (*_hash).
CREATE TABLE units (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE outlets (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE institutions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    level TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE persons (
    ssn_hash TEXT PRIMARY KEY,
    ssn_enc BLOB NOT NULL,
    name_enc BLOB NOT NULL,
    gender TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    ethnicity TEXT NOT NULL,
    category TEXT NOT NULL,
    region TEXT NOT NULL,
    unit_code TEXT REFERENCES units (code),
    phone_enc BLOB,
    address_enc BLOB,
    handbook_hash TEXT UNIQUE,
    handbook_enc BLOB,
    flags TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX persons_by_unit ON persons (unit_code);
CREATE TABLE person_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ssn_hash TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    effective_on TEXT NOT NULL,
    actor TEXT NOT NULL,
    fields TEXT NOT NULL,
    before_enc BLOB NOT NULL,
    after_enc BLOB NOT NULL
);
CREATE INDEX person_changes_by_person ON person_changes (ssn_hash, id);
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    outlet TEXT,
    unit TEXT,
    institution TEXT,
    person_hash TEXT,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE idempotency_keys (
    token_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    body BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (token_id, key)
);
CREATE TABLE calendar_years (
    year INTEGER PRIMARY KEY,
    data TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);
