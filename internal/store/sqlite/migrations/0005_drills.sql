-- Drills (rehearsals) and the action items they found.
CREATE TABLE drills (
	id         TEXT    PRIMARY KEY,
	flow       TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	scenario   TEXT    NOT NULL,
	outcome    TEXT    NOT NULL,
	started_at INTEGER NOT NULL,
	ended_at   INTEGER NOT NULL,
	dir        TEXT    NOT NULL,
	report     TEXT    NOT NULL
);
CREATE INDEX drills_started ON drills (started_at DESC, id DESC);

CREATE TABLE action_items (
	id         TEXT    PRIMARY KEY,
	drill_id   TEXT    NOT NULL,
	flow       TEXT    NOT NULL,
	title      TEXT    NOT NULL,
	owner      TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	closed_at  INTEGER NOT NULL,
	closed_by  TEXT    NOT NULL,
	note       TEXT    NOT NULL
);
CREATE INDEX action_items_created ON action_items (created_at, id);
