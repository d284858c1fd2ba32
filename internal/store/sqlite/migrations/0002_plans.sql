-- Reviewed plans by digest, stored as the exact bytes written, so a run can
-- be resumed (or rolled back) from the store alone, on another machine.
CREATE TABLE plans (
	digest   TEXT    PRIMARY KEY,
	body     BLOB    NOT NULL,
	saved_at INTEGER NOT NULL
);
