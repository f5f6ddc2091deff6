-- R-SET-6, R-SET-8: a manual reimbursement is a claim the holder follows: submitted at
-- the counter with its computed amount and the date it is due, approved by a clerk, sent
-- to the bank in a payment file and paid or failed as the bank's result file says.
-- Written in the transaction of its settlement; one claim per settlement; each step a
-- conditional update from the state before it.
CREATE TABLE reimbursement_claims (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    person_hash TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    state TEXT NOT NULL,
    due_on TEXT,
    submitted_by TEXT NOT NULL,
    approved_by TEXT,
    created_at TEXT NOT NULL,
    approved_at TEXT,
    file_id TEXT,
    sent_at TEXT,
    settled_at TEXT,
    failure_reason TEXT
);
CREATE INDEX reimbursement_claims_by_person ON reimbursement_claims (person_hash, created_at);
CREATE INDEX reimbursement_claims_by_file ON reimbursement_claims (file_id);
