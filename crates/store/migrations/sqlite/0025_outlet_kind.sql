-- 002 (Jinan): an outlet's kind: NULL for an ordinary counter, 'instant_issue' for an
-- outlet that makes a replacement card on the spot (即时制卡网点).
ALTER TABLE outlets ADD COLUMN kind TEXT;
