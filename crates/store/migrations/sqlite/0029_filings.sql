-- R-XREG-1: a holder's filing (备案) for care in another region, kept by the insured
-- region: the care region's division code, the kind (long-term residence elsewhere or
-- temporary care elsewhere) and its dates. A settlement there between pairs of regions
-- that need a filing goes through only on a filing covering the visit's day.
CREATE TABLE filings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_hash TEXT NOT NULL,
    care_admdvs TEXT NOT NULL,
    kind TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    recorded_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX filings_by_person ON filings (person_hash, valid_from);
