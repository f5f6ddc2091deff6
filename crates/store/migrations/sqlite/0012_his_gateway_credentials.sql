-- Gateway credentials of designated institutions (the national interface's x-tif-*
-- signature): an access id (paasid) and a secret, the secret encrypted like personal data.
CREATE TABLE his_credentials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    paasid TEXT NOT NULL UNIQUE,
    institution TEXT NOT NULL,
    secret_enc BLOB NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
-- Nonces seen inside the timestamp window: the primary key refuses a replay, whichever
-- process or connection sees it second.
CREATE TABLE his_nonces (
    paasid TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (paasid, nonce)
);
CREATE INDEX his_nonces_by_time ON his_nonces (seen_at);
