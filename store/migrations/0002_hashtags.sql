-- 0002: hashtag searches, the times behind each account's budget of 30
-- unique hashtag searches per rolling 7 days. Instagram lists which names
-- count but not since when; a row says when the account first searched a
-- name, so every process sharing the database, and a restarted one, knows
-- when each search leaves the window. Tokens as in 0001.

CREATE TABLE hashtag_searches (
    account_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    hashtag_id TEXT NOT NULL DEFAULT '',
    at         {{ts}} NOT NULL,
    PRIMARY KEY (account_id, name)
) {{strict}};

-- The primary key serves the per-account reads; pruning scans by time.
CREATE INDEX hashtag_searches_by_time ON hashtag_searches (at);
