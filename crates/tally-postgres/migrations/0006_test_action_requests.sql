-- A partner's request for a test action (SPEC §8), until the brand fulfils it with a
-- test action or declines it. Times in microseconds since the epoch.
CREATE TABLE test_action_request (
    request_id  TEXT PRIMARY KEY,
    program_id  BIGINT NOT NULL,
    partner_id  BIGINT NOT NULL,
    note        TEXT NOT NULL,
    state       TEXT NOT NULL,
    action_id   TEXT,
    created_at  BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX test_action_request_program ON test_action_request (program_id, created_at);
