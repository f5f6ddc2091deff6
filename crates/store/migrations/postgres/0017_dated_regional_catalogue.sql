-- The catalogue by region and date: an item's class or ceiling can change on a date and
-- differ by region. region '' and valid_from '0001-01-01' are the region-independent
-- entry in force always (every entry before this migration).
CREATE TABLE catalog_entries (
    code TEXT NOT NULL,
    region TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    class TEXT NOT NULL,
    price_ceiling_fen BIGINT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (code, region, valid_from)
);
INSERT INTO catalog_entries (code, region, valid_from, name, kind, class, price_ceiling_fen, updated_at)
    SELECT code, '', '0001-01-01', name, kind, class, price_ceiling_fen, updated_at FROM catalog_items;
DROP TABLE catalog_items;
ALTER TABLE catalog_entries RENAME TO catalog_items;
