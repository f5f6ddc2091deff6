-- R-APP-4: the province's card register: people who hold a working card issued by
-- another city of the province (its 6-digit division code). A production cut leaves
-- them out; an import replaces a person's row, and a row whose card no longer works
-- removes it.
CREATE TABLE province_cards (
    ssn_hash TEXT PRIMARY KEY,
    city_admdvs TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);
