-- R-DIST-1, R-GEN-1: the kind of a unit that hands cards out (an employer, a job centre,
-- a talent centre, a street office for retirees under social management, a school) and
-- the district it is in (its 6-digit division code), which a pilot's scope may name.
ALTER TABLE units ADD COLUMN kind TEXT NOT NULL DEFAULT 'employer';
ALTER TABLE units ADD COLUMN district TEXT;
