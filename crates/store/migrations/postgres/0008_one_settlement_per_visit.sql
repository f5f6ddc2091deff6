-- One live settlement of a kind per visit: a visit is paid once, whatever retries or
-- races reach the booking (the registration fee's own settlement, R-SET-5, is another
-- kind; a reversed settlement no longer counts, so the visit may be settled again).
CREATE UNIQUE INDEX settlements_live_per_visit ON settlements (mdtrt_id, kind) WHERE state = 'settled';
