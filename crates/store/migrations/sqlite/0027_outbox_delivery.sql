-- R-EVT-1: the outbox is delivered by a relay. `due` is when a notice may be delivered
-- (its event's instant, or a pre-loss's end for the notice that it lifted by itself);
-- `lifts` names the pre-loss such a notice ends (`card`, `social`, `financial`), so that
-- a later change withdraws it while it is not yet due (`withdrawn_at`); `delivered_at`
-- is when the broker acknowledged it.
ALTER TABLE outbox ADD COLUMN due TEXT;
ALTER TABLE outbox ADD COLUMN lifts TEXT;
ALTER TABLE outbox ADD COLUMN withdrawn_at TEXT;
UPDATE outbox SET due = at;
CREATE INDEX outbox_undelivered ON outbox (due, id) WHERE delivered_at IS NULL AND withdrawn_at IS NULL;
