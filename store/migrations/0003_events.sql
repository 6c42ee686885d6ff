-- 0003: webhook events (docs/reference.md §5). One row per change Meta
-- delivered: the typed columns are what agents filter and read (comments,
-- live_comments, mentions, story_insights); value_json keeps the change's
-- value exactly as Meta sent it, for every field, known or not. Tokens as
-- in 0001.

CREATE TABLE events (
    id            {{serial}},
    -- event_key makes a redelivered change a no-op: a hash of the account,
    -- the field and the value (the webhooks package derives it).
    event_key     TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    field         TEXT NOT NULL,
    media_id      TEXT NOT NULL DEFAULT '',
    comment_id    TEXT NOT NULL DEFAULT '',
    parent_id     TEXT NOT NULL DEFAULT '',
    from_id       TEXT NOT NULL DEFAULT '',
    from_username TEXT NOT NULL DEFAULT '',
    body_text     TEXT NOT NULL DEFAULT '',
    at            {{ts}} NOT NULL,
    received_at   {{ts}} NOT NULL,
    value_json    TEXT NOT NULL
) {{strict}};

CREATE UNIQUE INDEX events_by_key ON events (event_key);
-- Listing is newest first (id descending), optionally per account and field.
CREATE INDEX events_by_account ON events (account_id, field, id);
CREATE INDEX events_by_field ON events (field, id);
-- The latest story_insights of a Story.
CREATE INDEX events_by_media ON events (media_id, field, id);
-- Pruning scans by arrival.
CREATE INDEX events_by_received ON events (received_at);
