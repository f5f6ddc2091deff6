-- What each fund behind a receipt paid in the year (R-SET-3), toward each fund's own
-- yearly cap: a JSON object from the fund's key to fen, funds that paid nothing absent.
ALTER TABLE year_totals ADD COLUMN by_fund TEXT NOT NULL DEFAULT '{}';
