-- Failover decisions opened by triggers; the steps live in body (JSON).
CREATE TABLE decisions (
	id         TEXT    PRIMARY KEY,
	flow       TEXT    NOT NULL,
	trigger    TEXT    NOT NULL,
	state      TEXT    NOT NULL,
	opened_at  INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	body       TEXT    NOT NULL
);
CREATE INDEX decisions_opened ON decisions (opened_at DESC, id DESC);
