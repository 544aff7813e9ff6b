-- Conversions in: submissions (every one, refused or not), actions, identity links and
-- idempotency records. Money is INTEGER minor units of the row's currency (cents for
-- USD, yen for JPY), exact and summable; amounts are rounded to it before storing.

-- Touches of an identity are found by visitor within a time range.
CREATE INDEX click_program_visitor_time ON click (program_id, visitor_id, created_at);
CREATE INDEX click_program_click_id ON click (program_id, click_id);
DROP INDEX click_click_id;

CREATE TABLE submission (
    submission_id TEXT PRIMARY KEY,
    account_sid   TEXT NOT NULL,
    program_id    INTEGER,
    kind          TEXT NOT NULL,
    channel       TEXT NOT NULL,
    status        TEXT NOT NULL,
    payload       TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    error_type    TEXT,
    error_reason  TEXT,
    action_id     TEXT,
    order_id      TEXT,
    event_type_id INTEGER,
    detail        TEXT,
    customer_id         TEXT,
    customer_email_hmac TEXT
);

CREATE INDEX submission_program_time ON submission (program_id, received_at);

CREATE TABLE action (
    action_id           TEXT PRIMARY KEY,
    program_id          INTEGER NOT NULL,
    event_type_id       INTEGER NOT NULL,
    order_id            TEXT NOT NULL,
    event_at            INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    state               TEXT NOT NULL,
    owner_id            INTEGER NOT NULL,
    owner_kind          TEXT NOT NULL,
    rule                TEXT NOT NULL,
    ad_id               INTEGER,
    click_id            TEXT,
    referring_at        INTEGER,
    referring_type      TEXT NOT NULL,
    currency            TEXT NOT NULL,
    sale_amount_minor   INTEGER NOT NULL,
    payout_minor        INTEGER NOT NULL,
    promo_code          TEXT,
    customer_id         TEXT,
    customer_email_hmac TEXT,
    customer_status     TEXT,
    shared_id           TEXT,
    sub_id1             TEXT,
    sub_id2             TEXT,
    sub_id3             TEXT,
    submission_id       TEXT NOT NULL,
    is_test             INTEGER NOT NULL,
    detail              TEXT NOT NULL,
    locking_at          INTEGER
);

-- An order id is unique per event type (CONV_DUPLICATE): the database enforces it,
-- so two nodes racing with the same order cannot both make an action.
CREATE UNIQUE INDEX action_order ON action (program_id, event_type_id, order_id);
CREATE INDEX action_program_event_time ON action (program_id, event_at);
-- The locking job finds pending actions whose locking instant has passed.
CREATE INDEX action_state_locking ON action (state, locking_at, action_id);

CREATE TABLE identity_link (
    program_id INTEGER NOT NULL,
    key        TEXT NOT NULL,
    other      TEXT NOT NULL,
    source     TEXT NOT NULL,
    linked_at  INTEGER NOT NULL,
    PRIMARY KEY (program_id, key, other)
);

-- A lookup takes the oldest links of each identifier, a bounded number of them.
CREATE INDEX identity_link_by_age ON identity_link (program_id, key, linked_at, other);

CREATE TABLE idempotency (
    account_sid TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    response    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_sid, key)
);

-- Every change of an action, with who made it and why: nothing changes without a trace.
CREATE TABLE action_update (
    update_id          TEXT PRIMARY KEY,
    action_id          TEXT NOT NULL,
    program_id         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    actor              TEXT NOT NULL,
    from_state         TEXT NOT NULL,
    to_state           TEXT NOT NULL,
    delta_amount_minor INTEGER NOT NULL,
    delta_payout_minor INTEGER NOT NULL,
    reason             TEXT NOT NULL
);

CREATE INDEX action_update_action ON action_update (action_id, updated_at);

-- Leases of background jobs, so that one node runs each at a time.
CREATE TABLE lease (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
