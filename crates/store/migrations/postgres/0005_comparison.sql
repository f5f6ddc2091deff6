-- Comparison with the population registry (R-CMP-1..4) (PostgreSQL).
ALTER TABLE persons ADD COLUMN photo_digest TEXT;
CREATE TABLE registry_extract (
    ssn_hash TEXT PRIMARY KEY,
    name_enc BYTEA NOT NULL,
    gender TEXT NOT NULL,
    ethnicity TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    photo_digest TEXT,
    loaded_at TEXT NOT NULL
);
CREATE TABLE comparisons (
    ssn_hash TEXT PRIMARY KEY,
    marks TEXT NOT NULL,
    compared_at TEXT NOT NULL
);
