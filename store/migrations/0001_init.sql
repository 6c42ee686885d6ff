-- 0001: the initial schema.
--
-- One file serves both backends. Tokens in double braces are replaced per
-- dialect before the file runs (see migrate.go):
--   {{ts}}      a point in time: TIMESTAMPTZ / INTEGER microseconds since 1970 UTC
--   {{bytes}}   opaque bytes:    BYTEA / BLOB
--   {{serial}}  an increasing integer primary key
--   {{strict}}  SQLite STRICT tables (type-checked columns), nothing in PostgreSQL
-- JSON is kept as TEXT in both so that it round-trips byte for byte.
-- Statements are separated by a semicolon at the end of a line.

CREATE TABLE publishes (
    account_id   TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    input_digest TEXT NOT NULL,
    state        TEXT NOT NULL,
    container_id TEXT NOT NULL DEFAULT '',
    child_ids    TEXT NOT NULL DEFAULT '[]',
    media_id     TEXT NOT NULL DEFAULT '',
    permalink    TEXT NOT NULL DEFAULT '',
    result_json  TEXT,
    error_kind   TEXT NOT NULL DEFAULT '',
    error_json   TEXT,
    created_at   {{ts}} NOT NULL,
    updated_at   {{ts}} NOT NULL,
    PRIMARY KEY (account_id, idem_key)
) {{strict}};

CREATE INDEX publishes_by_state ON publishes (state, updated_at);

CREATE TABLE journal (
    id           {{serial}},
    at           {{ts}} NOT NULL,
    account_id   TEXT NOT NULL,
    action       TEXT NOT NULL,
    input_digest TEXT NOT NULL DEFAULT '',
    graph_ids    TEXT NOT NULL DEFAULT '[]',
    outcome      TEXT NOT NULL DEFAULT '',
    error_kind   TEXT NOT NULL DEFAULT ''
) {{strict}};

CREATE INDEX journal_by_time ON journal (at, id);
CREATE INDEX journal_by_account ON journal (account_id, at, id);
CREATE INDEX journal_by_action ON journal (action, at, id);

CREATE TABLE schedules (
    id               TEXT NOT NULL PRIMARY KEY,
    account_id       TEXT NOT NULL,
    kind             TEXT NOT NULL,
    publish_at       {{ts}} NOT NULL,
    args_json        TEXT,
    idem_key         TEXT NOT NULL,
    state            TEXT NOT NULL,
    lease_owner      TEXT NOT NULL DEFAULT '',
    lease_expires_at {{ts}},
    attempts         INTEGER NOT NULL DEFAULT 0,
    media_id         TEXT NOT NULL DEFAULT '',
    result_json      TEXT,
    error_kind       TEXT NOT NULL DEFAULT '',
    error_json       TEXT,
    created_at       {{ts}} NOT NULL,
    updated_at       {{ts}} NOT NULL
) {{strict}};

-- ClaimDue and MarkMissed scan scheduled rows by due time; lease recovery
-- scans publishing rows by expiry.
CREATE INDEX schedules_due ON schedules (state, publish_at, id);
CREATE INDEX schedules_lease ON schedules (state, lease_expires_at);
CREATE INDEX schedules_by_account ON schedules (account_id, publish_at);

CREATE TABLE tokens (
    account_id TEXT NOT NULL PRIMARY KEY,
    username   TEXT NOT NULL,
    login_flow TEXT NOT NULL,
    ciphertext {{bytes}} NOT NULL,
    expires_at {{ts}},
    scopes     TEXT NOT NULL DEFAULT '[]',
    updated_at {{ts}} NOT NULL
) {{strict}};

CREATE TABLE meta (
    name  TEXT NOT NULL PRIMARY KEY,
    value {{bytes}} NOT NULL
) {{strict}};

CREATE TABLE rate_state (
    account_id    TEXT NOT NULL PRIMARY KEY,
    app_pct       INTEGER NOT NULL DEFAULT 0,
    business_pct  INTEGER NOT NULL DEFAULT 0,
    usage_at      {{ts}},
    blocked_until {{ts}},
    updated_at    {{ts}} NOT NULL
) {{strict}};

CREATE TABLE publish_log (
    id         {{serial}},
    account_id TEXT NOT NULL,
    at         {{ts}} NOT NULL
) {{strict}};

CREATE INDEX publish_log_by_account ON publish_log (account_id, at);
CREATE INDEX publish_log_by_time ON publish_log (at);
