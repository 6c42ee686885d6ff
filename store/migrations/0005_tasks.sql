-- 0005: MCP tasks (docs/reference.md §6). A task is a handle an MCP client
-- polls: on a background publish (id is the job's id in schedules, whose
-- row and the ledger say where it is), or on a call answered at once
-- (status and result_json set). Any replica answers from this table, so a
-- task outlives the process that created it. Tokens as in 0001.

CREATE TABLE mcp_tasks (
    id                  TEXT NOT NULL PRIMARY KEY,
    -- the bearer token's name that created it ('' without authentication):
    -- only that token may read or cancel it.
    owner               TEXT NOT NULL,
    account_id          TEXT NOT NULL DEFAULT '',
    -- the protocol version of the call that created it: the two task
    -- forms (2025-11-25 params.task, 2026-07-28 extension) differ.
    protocol            TEXT NOT NULL,
    tool                TEXT NOT NULL,
    ttl_ms              INTEGER NOT NULL,
    poll_ms             INTEGER NOT NULL,
    -- 2025-11-25: the call's progress token (JSON) and session, for
    -- progress notifications on the replica that holds the session.
    progress_token      TEXT NOT NULL DEFAULT '',
    session_id          TEXT NOT NULL DEFAULT '',
    -- '' follows the job; 'completed' or 'failed' for a call answered at
    -- once, whose result_json is the CallToolResult.
    status              TEXT NOT NULL DEFAULT '',
    result_json         TEXT,
    cancel_requested_at {{ts}},
    created_at          {{ts}} NOT NULL,
    updated_at          {{ts}} NOT NULL,
    expires_at          {{ts}} NOT NULL
) {{strict}};

-- tasks/list: one token's tasks, newest first.
CREATE INDEX mcp_tasks_by_owner ON mcp_tasks (owner, created_at, id);
-- Pruning by expiry.
CREATE INDEX mcp_tasks_by_expiry ON mcp_tasks (expires_at);
