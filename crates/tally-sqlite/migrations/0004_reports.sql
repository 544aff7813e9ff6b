-- Reports and the compatible read API (SPEC §8, §10).

-- Submissions are listed per account, newest first (APISubmissions, invalid conversions).
CREATE INDEX submission_account_time ON submission (account_sid, received_at);
-- Action updates are listed per program in time order (ActionUpdates).
CREATE INDEX action_update_program_time ON action_update (program_id, updated_at);
