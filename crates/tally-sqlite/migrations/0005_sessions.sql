-- Logging out of the dashboard ends every session of the user that began before it
-- (microseconds since the epoch; NULL: none ended).
ALTER TABLE dashboard_user ADD COLUMN sessions_since INTEGER;
