-- Electronic vouchers (医保电子凭证, R-SET-11): a single-use code for one visit, kept by
-- its keyed hash. A 2201 marks it used in the registration's transaction, with a
-- conditional update that only one registration can win.
CREATE TABLE vouchers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code_hash TEXT NOT NULL UNIQUE,
    person_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    read_by TEXT,
    used_at TEXT,
    mdtrt_id TEXT UNIQUE
);
CREATE INDEX vouchers_by_person ON vouchers (person_hash, created_at);
-- Files institutions upload with 9101 (the 3202 detail list).
CREATE TABLE his_files (
    file_qury_no TEXT PRIMARY KEY,
    institution TEXT NOT NULL,
    filename TEXT NOT NULL,
    content BLOB NOT NULL,
    created_at TEXT NOT NULL
);
-- Reconciliation (3201, 3202) reads an institution's settlements by period.
CREATE INDEX settlements_by_institution ON settlements (institution, created_at);
CREATE INDEX settlements_reversed_by_institution ON settlements (institution, reversed_at);
