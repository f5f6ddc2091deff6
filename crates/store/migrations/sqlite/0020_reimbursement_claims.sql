-- R-SET-6, R-SET-8: a manual reimbursement is a claim the holder follows: submitted at
-- the counter with its computed amount and the date it is due, approved by a clerk.
-- Written in the transaction of its settlement; one claim per settlement.
CREATE TABLE reimbursement_claims (
    id TEXT PRIMARY KEY,
    person_hash TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    state TEXT NOT NULL,
    due_on TEXT,
    submitted_by TEXT NOT NULL,
    approved_by TEXT,
    created_at TEXT NOT NULL,
    approved_at TEXT
);
CREATE INDEX reimbursement_claims_by_person ON reimbursement_claims (person_hash, created_at);
