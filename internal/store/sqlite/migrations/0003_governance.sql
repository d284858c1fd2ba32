-- The audit chain: gapless sequence, each entry naming its predecessor's
-- hash. Nothing here makes it tamper-proof; package audit's hashes and
-- signed checkpoints make tampering evident.
CREATE TABLE audit (
	seq     INTEGER PRIMARY KEY,
	at      INTEGER NOT NULL,
	kind    TEXT    NOT NULL,
	actor   TEXT    NOT NULL,
	subject TEXT    NOT NULL,
	body    TEXT    NOT NULL,
	prev    TEXT    NOT NULL,
	hash    TEXT    NOT NULL
);

CREATE TABLE checkpoints (
	seq       INTEGER NOT NULL,
	hash      TEXT    NOT NULL,
	at        INTEGER NOT NULL,
	key_id    TEXT    NOT NULL,
	signature BLOB    NOT NULL,
	PRIMARY KEY (seq, key_id)
);

CREATE TABLE approvals (
	id          TEXT    PRIMARY KEY,
	plan_digest TEXT    NOT NULL,
	run_id      TEXT    NOT NULL,
	person      TEXT    NOT NULL,
	role        TEXT    NOT NULL,
	decision    TEXT    NOT NULL,
	reason      TEXT    NOT NULL,
	at          INTEGER NOT NULL,
	expires     INTEGER NOT NULL
);
CREATE INDEX approvals_digest ON approvals (plan_digest, at);

-- Tokens are kept as sha256 hashes: the store never holds a usable token.
CREATE TABLE tokens (
	id         TEXT    PRIMARY KEY,
	person     TEXT    NOT NULL,
	hash       TEXT    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	revoked    INTEGER NOT NULL
);
