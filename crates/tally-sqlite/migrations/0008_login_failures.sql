-- Failed dashboard logins, so that every node throttles a login name alike (SPEC §11).
-- The name is kept only as a keyed hash; rows older than the throttle's window are
-- deleted as new ones come. Times in microseconds since the epoch.
CREATE TABLE login_failure (
    name_key  TEXT NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE INDEX login_failure_name ON login_failure (name_key, failed_at);
CREATE INDEX login_failure_time ON login_failure (failed_at);
