-- Snapshots are stored as the exact JSON bytes saved, so the digest in
-- sha256 stays verifiable; times are Unix nanoseconds for ordering.
CREATE TABLE snapshots (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	account_sid TEXT    NOT NULL,
	taken_at    INTEGER NOT NULL,
	saved_at    INTEGER NOT NULL,
	numbers     INTEGER NOT NULL,
	sha256      TEXT    NOT NULL,
	body        BLOB    NOT NULL
);
CREATE INDEX snapshots_account_taken ON snapshots (account_sid, taken_at DESC, id DESC);

-- A released lease keeps its row (holder '') so the fencing token never
-- goes backwards for a key.
CREATE TABLE leases (
	key     TEXT    PRIMARY KEY,
	holder  TEXT    NOT NULL,
	token   INTEGER NOT NULL,
	expires INTEGER NOT NULL
);

CREATE TABLE runs (
	id          TEXT    PRIMARY KEY,
	plan_digest TEXT    NOT NULL,
	flow        TEXT    NOT NULL,
	kind        TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	state       TEXT    NOT NULL,
	updated_at  INTEGER NOT NULL
);
CREATE INDEX runs_created ON runs (created_at DESC, id DESC);

CREATE TABLE actions (
	run_id     TEXT    NOT NULL REFERENCES runs (id),
	seq        INTEGER NOT NULL,
	action_key TEXT    NOT NULL,
	step       TEXT    NOT NULL,
	detail     TEXT,
	at         INTEGER NOT NULL,
	PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
