-- Reports and the compatible read API (SPEC §8, §10).

-- Submissions are listed per account, newest first (APISubmissions, invalid conversions).
CREATE INDEX submission_account_time ON submission (account_sid, received_at);
-- The action listing's default order (newest first) and its count, real actions apart
-- from tests; the export pages through it after a (created_at, action_id) cursor.
CREATE INDEX action_program_created ON action (program_id, is_test, created_at, action_id);
-- Action updates are listed per program in time order (ActionUpdates).
CREATE INDEX action_update_program_time ON action_update (program_id, updated_at);

-- What a report groups actions by: the event's day in the program's time zone (set when
-- the action is made, so a later change of time zone does not move old actions) and
-- the device of the credited click. Actions made before this version count on their
-- UTC day.
ALTER TABLE action ADD COLUMN event_day TEXT;
ALTER TABLE action ADD COLUMN device TEXT;
UPDATE action SET event_day = to_char(to_timestamp(event_at / 1000000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD');

-- Rollups for performance reports, kept in the same transaction as the rows they sum:
-- clicks when a batch is loaded, actions when one is made, changed or copied. A report
-- over months reads thousands of these rather than millions of clicks; tests compare
-- them with a recomputation from the raw rows. An absent ad is -1, an absent device or
-- shared id the empty text, so that every key is a plain primary key.
CREATE TABLE click_day (
    program_id    BIGINT NOT NULL,
    day           TEXT NOT NULL,
    owner_id      BIGINT NOT NULL,
    ad_id         BIGINT NOT NULL,
    device        TEXT NOT NULL,
    shared_id     TEXT NOT NULL,
    clicks        BIGINT NOT NULL,
    unique_clicks BIGINT NOT NULL,
    PRIMARY KEY (program_id, day, owner_id, ad_id, device, shared_id)
);

CREATE TABLE action_day (
    program_id        BIGINT NOT NULL,
    day               TEXT NOT NULL,
    owner_id          BIGINT NOT NULL,
    ad_id             BIGINT NOT NULL,
    device            TEXT NOT NULL,
    shared_id         TEXT NOT NULL,
    event_type_id     BIGINT NOT NULL,
    currency          TEXT NOT NULL,
    is_test           BOOLEAN NOT NULL,
    actions           BIGINT NOT NULL,
    sale_amount_minor BIGINT NOT NULL,
    payout_minor      BIGINT NOT NULL,
    PRIMARY KEY (program_id, day, owner_id, ad_id, device, shared_id, event_type_id, currency, is_test)
);

-- Rows stored before this version, on their UTC day; crawlers' clicks are not counted.
INSERT INTO click_day
SELECT program_id, to_char(to_timestamp(created_at / 1000000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), owner_id, coalesce(ad_id, -1), device,
       coalesce(shared_id, ''), count(*), count(*) FILTER (WHERE is_unique)
FROM click WHERE NOT is_bot GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO action_day
SELECT program_id, event_day, owner_id, coalesce(ad_id, -1), '', coalesce(shared_id, ''), event_type_id, currency,
       is_test, count(*) FILTER (WHERE state <> 'REVERSED'), sum(sale_amount_minor), sum(payout_minor)
FROM action GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
