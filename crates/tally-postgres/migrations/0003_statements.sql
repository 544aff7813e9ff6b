-- Partner statements (SPEC §8): the approved actions that locked in one month, per
-- partner, currency and payment date. Totals are summed from the actions, never kept
-- twice; dates are the program's local days as ISO 8601 text, which sorts correctly.
ALTER TABLE action ADD COLUMN statement_id TEXT;
CREATE INDEX action_statement ON action (statement_id);
-- The statement job finds approved real actions of partners not yet on a statement
-- (media sources are paid nothing and never stated, so they stay out of the index).
CREATE INDEX action_unstated ON action (program_id, action_id)
    WHERE state = 'APPROVED' AND statement_id IS NULL AND NOT is_test AND owner_kind = 'partner';
-- Tiers, limits and bonuses count a partner's actions in a period.
CREATE INDEX action_owner_time ON action (program_id, owner_id, event_type_id, event_at);

CREATE TABLE statement (
    statement_id      TEXT PRIMARY KEY,
    program_id        BIGINT NOT NULL,
    partner_id        BIGINT NOT NULL,
    currency          TEXT NOT NULL,
    statement_date    TEXT NOT NULL,
    scheduled_on      TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    paid_at           BIGINT,
    paid_by           TEXT,
    payment_reference TEXT
);

-- One statement per partner, currency, month and payment date, however many nodes run the job.
CREATE UNIQUE INDEX statement_key ON statement (program_id, partner_id, currency, statement_date, scheduled_on);

-- How each partner wants to be paid *(documented)*: a balance threshold (a decimal
-- string in the program's currency) or a fixed day of the month; neither means on
-- each statement's payment date.
CREATE TABLE withdrawal_setting (
    program_id BIGINT NOT NULL,
    partner_id BIGINT NOT NULL,
    threshold  TEXT,
    fixed_day  BIGINT,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (program_id, partner_id)
);
