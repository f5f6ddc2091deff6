-- R-EXCH-1 (003 Q66): a person's ID number can be corrected. `ssn_hash` stays the
-- person's key (their cards, account and history carry it, and the account's entries are
-- append-only); `current_hash` is the keyed hash of the number as it is now, by which
-- the person is found, one person per number.
ALTER TABLE persons ADD COLUMN current_hash TEXT;
UPDATE persons SET current_hash = ssn_hash;
CREATE UNIQUE INDEX persons_by_current_number ON persons (current_hash);
