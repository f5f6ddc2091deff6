-- Catalogue, visits and fee lines, settlements, year totals and the personal-account
-- ledger (SQLite). Ledger entries are append-only.
CREATE TABLE catalog_items (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    class TEXT NOT NULL,
    price_ceiling_fen INTEGER,
    updated_at TEXT NOT NULL
);
CREATE TABLE visits (
    mdtrt_id TEXT PRIMARY KEY,
    institution TEXT NOT NULL,
    person_hash TEXT NOT NULL,
    card_id INTEGER,
    ipt_otp_no TEXT NOT NULL,
    state TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (institution, ipt_otp_no)
);
CREATE TABLE fee_lines (
    mdtrt_id TEXT NOT NULL,
    sn TEXT NOT NULL,
    chrg_bchno TEXT NOT NULL,
    code TEXT NOT NULL,
    qty_e4 INTEGER NOT NULL,
    price_e6 INTEGER NOT NULL,
    amount_fen INTEGER NOT NULL,
    setl_id TEXT,
    PRIMARY KEY (mdtrt_id, sn)
);
CREATE TABLE settlements (
    setl_id TEXT PRIMARY KEY,
    mdtrt_id TEXT NOT NULL,
    institution TEXT NOT NULL,
    person_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    visit_date TEXT NOT NULL,
    year INTEGER NOT NULL,
    receipt TEXT NOT NULL,
    created_at TEXT NOT NULL,
    reversed_at TEXT
);
CREATE INDEX settlements_by_person ON settlements (person_hash, created_at);
CREATE TABLE year_totals (
    person_hash TEXT NOT NULL,
    year INTEGER NOT NULL,
    deductible_used INTEGER NOT NULL,
    fund_paid INTEGER NOT NULL,
    insured_used INTEGER NOT NULL,
    PRIMARY KEY (person_hash, year)
);
CREATE TABLE account_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_hash TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    reference TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX account_entries_by_person ON account_entries (person_hash, id);
CREATE TRIGGER account_entries_no_update BEFORE UPDATE ON account_entries
BEGIN SELECT RAISE(ABORT, 'account_entries is append-only'); END;
CREATE TRIGGER account_entries_no_delete BEFORE DELETE ON account_entries
BEGIN SELECT RAISE(ABORT, 'account_entries is append-only'); END;
