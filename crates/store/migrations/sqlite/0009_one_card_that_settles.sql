-- At most one card per person whose social zone is started (state 'active', the only
-- state that settles, R-SET-10): at no instant may a person hold two cards that settle
-- (R-ACT-2), whatever path starts a zone. A database already holding two such cards
-- for a person stops here: resolve them (`ykt verify` names them) and start again.
CREATE UNIQUE INDEX cards_one_that_settles ON cards (person_hash) WHERE state = 'active';
