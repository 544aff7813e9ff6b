-- Accounts, tokens, users, programs and the click log.
-- Times are INTEGER microseconds since the Unix epoch, UTC.

CREATE TABLE setting (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE account (
    account_sid     TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    auth_token_hash TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE api_token (
    token_id    TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL REFERENCES account (account_sid),
    partner_id  INTEGER,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE dashboard_user (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    account_sid   TEXT REFERENCES account (account_sid),
    partner_id    INTEGER,
    created_at    INTEGER NOT NULL
);

CREATE TABLE program (
    program_id  INTEGER PRIMARY KEY,
    account_sid TEXT NOT NULL REFERENCES account (account_sid),
    revision    INTEGER NOT NULL,
    document    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- The click log. click_seq is the rowid, so inserts append to the table's B-tree;
-- click ids start with their time, so their index appends too.
CREATE TABLE click (
    click_seq       INTEGER PRIMARY KEY,
    click_id        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    program_id      INTEGER NOT NULL,
    owner_id        INTEGER NOT NULL,
    owner_kind      TEXT NOT NULL,
    ad_id           INTEGER,
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
    is_unique       INTEGER NOT NULL,
    is_bot          INTEGER NOT NULL,
    is_malformed    INTEGER NOT NULL,
    is_creditable   INTEGER NOT NULL
);

CREATE INDEX click_program_time ON click (program_id, created_at);
CREATE INDEX click_click_id ON click (click_id);

-- How far each node's click log has been loaded; written in the same transaction as
-- the clicks, so a batch is loaded exactly once.
CREATE TABLE click_checkpoint (
    log_id          TEXT PRIMARY KEY,
    loaded_through  INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
