-- Conversions in: submissions (every one, refused or not), actions, identity links and
-- idempotency records: the same tables and columns as tally-sqlite's
-- 0002_conversions.sql. Money is BIGINT minor units of the row's currency (cents for
-- USD, yen for JPY), exact and summable; amounts are rounded to it before storing.
-- Times are BIGINT microseconds since the Unix epoch, UTC; flags are BOOLEAN.
--
-- The text columns that listings and pages are ordered by use the "C" collation, so
-- they sort by bytes exactly as in SQLite, whatever the server's locale, and their
-- indexes do not depend on the operating system's collation rules.

-- Touches of an identity are found by visitor within a time range.
CREATE INDEX click_program_visitor_time ON click (program_id, visitor_id, created_at);
CREATE INDEX click_program_click_id ON click (program_id, click_id);
DROP INDEX click_click_id;

CREATE TABLE submission (
    submission_id TEXT COLLATE "C" PRIMARY KEY,
    account_sid   TEXT NOT NULL,
    program_id    BIGINT,
    kind          TEXT NOT NULL,
    channel       TEXT NOT NULL,
    status        TEXT NOT NULL,
    payload       TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    received_at   BIGINT NOT NULL,
    error_type    TEXT,
    error_reason  TEXT,
    action_id     TEXT,
    order_id      TEXT,
    event_type_id BIGINT,
    detail        TEXT,
    customer_id         TEXT,
    customer_email_hmac TEXT
);

CREATE INDEX submission_program_time ON submission (program_id, received_at);

CREATE TABLE action (
    action_id           TEXT COLLATE "C" PRIMARY KEY,
    program_id          BIGINT NOT NULL,
    event_type_id       BIGINT NOT NULL,
    order_id            TEXT COLLATE "C" NOT NULL,
    event_at            BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    state               TEXT NOT NULL,
    owner_id            BIGINT NOT NULL,
    owner_kind          TEXT NOT NULL,
    rule                TEXT NOT NULL,
    ad_id               BIGINT,
    click_id            TEXT,
    referring_at        BIGINT,
    referring_type      TEXT NOT NULL,
    currency            TEXT NOT NULL,
    sale_amount_minor   BIGINT NOT NULL,
    payout_minor        BIGINT NOT NULL,
    promo_code          TEXT,
    customer_id         TEXT,
    customer_email_hmac TEXT,
    customer_status     TEXT,
    shared_id           TEXT,
    sub_id1             TEXT,
    sub_id2             TEXT,
    sub_id3             TEXT,
    submission_id       TEXT NOT NULL,
    is_test             BOOLEAN NOT NULL,
    detail              TEXT NOT NULL,
    locking_at          BIGINT
);

-- An order id is unique per event type (CONV_DUPLICATE): the database enforces it,
-- so two nodes racing with the same order cannot both make an action.
CREATE UNIQUE INDEX action_order ON action (program_id, event_type_id, order_id);
CREATE INDEX action_program_event_time ON action (program_id, event_at);
-- The locking job finds pending actions whose locking instant has passed.
CREATE INDEX action_state_locking ON action (state, locking_at, action_id);

CREATE TABLE identity_link (
    program_id BIGINT NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    other      TEXT COLLATE "C" NOT NULL,
    source     TEXT NOT NULL,
    linked_at  BIGINT NOT NULL,
    PRIMARY KEY (program_id, key, other)
);

-- A lookup takes the oldest links of each identifier, a bounded number of them.
CREATE INDEX identity_link_by_age ON identity_link (program_id, key, linked_at, other);

CREATE TABLE idempotency (
    account_sid TEXT COLLATE "C" NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    response    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_sid, key)
);

-- Every change of an action, with who made it and why: nothing changes without a trace.
CREATE TABLE action_update (
    update_id          TEXT COLLATE "C" PRIMARY KEY,
    action_id          TEXT COLLATE "C" NOT NULL,
    program_id         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    actor              TEXT NOT NULL,
    from_state         TEXT NOT NULL,
    to_state           TEXT NOT NULL,
    delta_amount_minor BIGINT NOT NULL,
    delta_payout_minor BIGINT NOT NULL,
    reason             TEXT NOT NULL
);

CREATE INDEX action_update_action ON action_update (action_id, updated_at);

-- Leases of background jobs, so that one node runs each at a time.
CREATE TABLE lease (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
