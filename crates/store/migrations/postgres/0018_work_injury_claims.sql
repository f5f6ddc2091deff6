-- R-SET-7: a settlement later found to be a work injury is reversed, the holder pays in
-- full, and a claim with its fee lines goes to work-injury insurance: one claim per
-- settlement, written in the reversal's transaction.
CREATE TABLE work_injury_claims (
    claim_id TEXT PRIMARY KEY,
    setl_id TEXT NOT NULL UNIQUE,
    mdtrt_id TEXT NOT NULL,
    person_hash TEXT NOT NULL,
    institution TEXT NOT NULL,
    total_fen BIGINT NOT NULL,
    cash_due_fen BIGINT NOT NULL,
    lines TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL
);
