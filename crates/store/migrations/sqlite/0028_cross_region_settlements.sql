-- R-XREG-2, R-XREG-3: a settlement of a holder insured in another region is kept by both
-- regions under one setl_id: the region of care keeps it for its institution (its fee
-- lines are marked by it; the holder is known there by psn_no only), the insured region
-- keeps it against the holder's year totals and account. Both name the pair (care
-- region's and insured region's division codes) and which side this copy is, so that
-- each side's monthly clearing is computed from its own rows. A settlement in one region
-- leaves the three columns empty. No column refers to a row of the other region.
ALTER TABLE settlements ADD COLUMN care_admdvs TEXT;
ALTER TABLE settlements ADD COLUMN insured_admdvs TEXT;
ALTER TABLE settlements ADD COLUMN xreg_side TEXT;
CREATE INDEX settlements_cross_region ON settlements (care_admdvs, insured_admdvs, created_at) WHERE xreg_side IS NOT NULL;
CREATE INDEX settlements_cross_region_reversed ON settlements (care_admdvs, insured_admdvs, reversed_at) WHERE xreg_side IS NOT NULL;
