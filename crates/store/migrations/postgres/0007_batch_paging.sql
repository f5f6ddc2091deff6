-- The production cut pages through a region's applied cards in id order.
DROP INDEX cards_by_state;
CREATE INDEX cards_by_state ON cards (region, state, id);
