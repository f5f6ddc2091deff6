-- R-CERT-1: a visit registered on a card-collection certificate (领卡证明) while the
-- card is being made. The holder pays in cash; the fee lines the hospital uploaded for
-- the visit are later claimed by hand, found by the certificate's number. Written in the
-- registration's transaction; one row per visit.
CREATE TABLE certificate_visits (
    mdtrt_id TEXT PRIMARY KEY,
    certificate_number TEXT NOT NULL,
    person_hash TEXT NOT NULL,
    registered_at TEXT NOT NULL
);
CREATE INDEX certificate_visits_by_certificate ON certificate_visits (certificate_number, registered_at);
