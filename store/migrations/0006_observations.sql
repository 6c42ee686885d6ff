-- 0006: observations, what igmcp measured about how the Graph API answers
-- one Meta app acting as one account (`igmcp doctor --probe`): whether a
-- POST honours `fields` (read-after-write), how long a new image container
-- took to read FINISHED. One row per (app, account, name); the newest
-- measurement replaces an older one. app_id is '' when no app id is
-- configured. Tokens as in 0001.

CREATE TABLE observations (
    app_id     TEXT NOT NULL,
    account_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    at         {{ts}} NOT NULL,
    PRIMARY KEY (app_id, account_id, name)
) {{strict}};
