-- 0007: confirmations (IGMCP_CONFIRM, docs/reference.md §2): one row per
-- confirmation dialog igmcp asked for. The client echoes the nonce back
-- with the user's answer, to any replica; the answer is taken once
-- (consumed_at), and only for the same token, tool and arguments (digest).
-- Tokens as in 0001.

CREATE TABLE confirmations (
    nonce       TEXT NOT NULL PRIMARY KEY,
    owner       TEXT NOT NULL,
    tool        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    created_at  {{ts}} NOT NULL,
    expires_at  {{ts}} NOT NULL,
    consumed_at {{ts}}
) {{strict}};

CREATE INDEX confirmations_by_expiry ON confirmations (expires_at);
