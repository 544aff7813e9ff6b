-- Accounts, tokens, users, programs and the click log: the same tables and columns as
-- tally-sqlite's 0001_initial.sql, so both adapters map rows the same way.
-- Times are BIGINT microseconds since the Unix epoch, UTC.

CREATE TABLE setting (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE account (
    account_sid     TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    auth_token_hash TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE api_token (
    token_id    TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL REFERENCES account (account_sid),
    partner_id  BIGINT,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE dashboard_user (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    account_sid   TEXT REFERENCES account (account_sid),
    partner_id    BIGINT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE program (
    program_id  BIGINT PRIMARY KEY,
    account_sid TEXT NOT NULL REFERENCES account (account_sid),
    revision    BIGINT NOT NULL,
    document    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- The click log. click_seq is assigned in insertion order and breaks ties between
-- clicks of the same microsecond when paging.
CREATE TABLE click (
    click_seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    click_id        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    program_id      BIGINT NOT NULL,
    owner_id        BIGINT NOT NULL,
    owner_kind      TEXT NOT NULL,
    ad_id           BIGINT,
    source          TEXT NOT NULL,
    visitor_id      TEXT NOT NULL,
    ip_hash         TEXT,
    country         TEXT,
    user_agent      TEXT NOT NULL,
    device          TEXT NOT NULL,
    os              TEXT NOT NULL,
    browser         TEXT NOT NULL,
    referrer_url    TEXT,
    referrer_domain TEXT,
    landing_page    TEXT NOT NULL,
    sub_id1         TEXT,
    sub_id2         TEXT,
    sub_id3         TEXT,
    shared_id       TEXT,
    is_unique       BOOLEAN NOT NULL,
    is_bot          BOOLEAN NOT NULL,
    is_malformed    BOOLEAN NOT NULL,
    is_creditable   BOOLEAN NOT NULL
);

-- Serves the keyset pages of clicks_page: (program_id, created_at, click_seq).
CREATE INDEX click_program_time ON click (program_id, created_at, click_seq);
CREATE INDEX click_click_id ON click (click_id);

-- How far each node's click log has been loaded; written in the same transaction as
-- the clicks, so a batch is loaded exactly once.
CREATE TABLE click_checkpoint (
    log_id          TEXT PRIMARY KEY,
    loaded_through  BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
