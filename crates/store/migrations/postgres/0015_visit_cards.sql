-- A hospital's own visit card (就诊卡) linked to the holder at the first visit (R-SET-9):
-- one holder per number at an institution, one number per holder (a new number
-- replaces the old one), so that afterwards the social security card alone is enough.
CREATE TABLE visit_cards (
    institution TEXT NOT NULL,
    visit_card_no TEXT NOT NULL,
    person_hash TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (institution, visit_card_no)
);
CREATE UNIQUE INDEX visit_cards_one_per_holder ON visit_cards (institution, person_hash);
