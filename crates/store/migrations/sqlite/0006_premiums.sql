-- Resident premiums (R-PAY-1, R-PAY-2): payments from every channel and the bank's
-- monthly deductions (SQLite).
CREATE TABLE premium_payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_hash TEXT NOT NULL,
    period TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    channel TEXT NOT NULL,
    payer_hash TEXT,
    paid_at TEXT NOT NULL,
    reference TEXT NOT NULL UNIQUE
);
CREATE INDEX premium_payments_by_person ON premium_payments (person_hash, period);
CREATE TABLE premium_deductions (
    person_hash TEXT NOT NULL,
    period TEXT NOT NULL,
    ok INTEGER NOT NULL,
    reason TEXT,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (person_hash, period)
);
