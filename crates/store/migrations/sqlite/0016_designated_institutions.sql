-- R-SET-12: an institution's class where the region opens some classes to all holders
-- (A-class, traditional Chinese medicine, specialty); optional.
ALTER TABLE institutions ADD COLUMN class TEXT;
-- The designated institutions a holder chose (recorded in the medical handbook), dated:
-- the choice in force on a visit's date is the latest one from on or before it. A new
-- choice from the same date replaces that date's.
CREATE TABLE designated_choices (
    person_hash TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    institutions TEXT NOT NULL,
    chosen_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (person_hash, valid_from)
);
