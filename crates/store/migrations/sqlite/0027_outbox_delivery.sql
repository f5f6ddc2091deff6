-- R-EVT-1: the outbox is delivered by a relay. `due` is when a notice may be delivered
-- (its event's instant, or a pre-loss's end for the notice that it lifted by itself);
-- `lifts` names the pre-loss such a notice ends (`card`, `social`, `financial`), so that
-- a later change withdraws it while it is not yet due (`withdrawn_at`); `delivered_at`
-- is when the broker acknowledged it.
ALTER TABLE outbox ADD COLUMN due TEXT;
ALTER TABLE outbox ADD COLUMN lifts TEXT;
ALTER TABLE outbox ADD COLUMN withdrawn_at TEXT;
UPDATE outbox SET due = at;
-- Rows written before the relay were read by polling `GET /v1/outbox`, the only delivery
-- there was, and do not carry a notice's fields: they count as delivered. Each pre-loss
-- among them gets the lifting it now gives, withdrawn (it was never scheduled), so that
-- `ykt verify` finds every event's notices.
UPDATE outbox SET delivered_at = at WHERE delivered_at IS NULL;
INSERT INTO outbox (topic, card_id, payload, at, due, lifts, withdrawn_at, delivered_at)
    SELECT 'card.unblocked', card_id, payload, at, at, 'card', at, NULL FROM outbox WHERE topic = 'card.blocked' AND payload LIKE '%pre_loss_reported%';
CREATE INDEX outbox_undelivered ON outbox (due, id) WHERE delivered_at IS NULL AND withdrawn_at IS NULL;
-- A change of a card's standing finds its pending liftings without reading the outbox.
CREATE INDEX outbox_pending_liftings ON outbox (card_id) WHERE lifts IS NOT NULL AND delivered_at IS NULL AND withdrawn_at IS NULL;
