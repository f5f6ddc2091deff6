-- The family mutual-aid account (共济账户, R-PAY-2): a family member bound to a holder
-- whose personal account pays the member's resident premium on the month's last day.
-- One account pays for a person.
CREATE TABLE family_members (
    member_hash TEXT PRIMARY KEY,
    holder_hash TEXT NOT NULL,
    bound_at TEXT NOT NULL,
    bound_by TEXT NOT NULL
);
CREATE INDEX family_members_by_holder ON family_members (holder_hash);
