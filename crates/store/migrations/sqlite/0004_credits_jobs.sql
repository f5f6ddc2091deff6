-- Monthly account credits (once per person and month) and long-running jobs (SQLite).
ALTER TABLE persons ADD COLUMN contribution_base_fen INTEGER;
CREATE UNIQUE INDEX account_entries_monthly_once ON account_entries (person_hash, reference) WHERE kind = 'monthly_credit';
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL,
    report TEXT,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
