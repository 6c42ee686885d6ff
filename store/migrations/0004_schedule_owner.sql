-- 0004: who created each schedule and background job. An HTTP token of
-- IGMCP_HTTP_TOKENS_FILE owns what it created (the column holds the
-- token's name, never the token): other tokens on the same account cannot
-- list, read or cancel it. '' is a caller without a scoped token (stdio,
-- IGMCP_HTTP_TOKEN), and every row created before this migration; only
-- unscoped callers see those. Tokens as in 0001.

ALTER TABLE schedules ADD COLUMN created_by TEXT NOT NULL DEFAULT '';

-- list_scheduled_posts of a scoped token: its own schedules of one account.
CREATE INDEX schedules_by_creator ON schedules (account_id, created_by, publish_at);
