-- The calendar year a replacement certificate's collection date waits for (R-CAL-2):
-- when the operator loads that year, these cards' dates are counted.
ALTER TABLE cards ADD COLUMN ready_awaited_year INTEGER;
CREATE INDEX cards_awaiting_year ON cards (ready_awaited_year) WHERE ready_awaited_year IS NOT NULL;
