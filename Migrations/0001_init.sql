-- 0001: the captures table and the indexes every query path relies on.
-- STRICT tables: https://www.sqlite.org/stricttables.html
-- AUTOINCREMENT so an id is never handed out twice, even after retention deleted the newest rows:
-- https://www.sqlite.org/autoinc.html

CREATE TABLE captures (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id             TEXT    NOT NULL,
    agent_id               TEXT,
    captured_at            INTEGER NOT NULL,
    taas_request_id        TEXT,
    taas_trace_id          TEXT,
    openclaw_turn_id       TEXT,
    openclaw_attempt       TEXT,
    autorouter_model       TEXT,
    autorouter_algo        TEXT,
    autorouter_algo_source TEXT,
    thinking_applied       TEXT,
    routed_context_window  INTEGER,
    -- idempotencyKey ?? taasRequestId; NULL = the capture is always stored.
    dedupe_key             TEXT
) STRICT;

-- lastRoute, history and the per-session retention rule, newest first.
CREATE INDEX captures_by_session ON captures (session_id, captured_at DESC, id DESC);

-- lastRoute and history by agent; captures without an agent never match an agent selector.
CREATE INDEX captures_by_agent ON captures (agent_id, captured_at, id) WHERE agent_id IS NOT NULL;

-- Retention by age and by total rows (oldest first), and stats over a time range.
CREATE INDEX captures_by_time ON captures (captured_at, id);

-- Idempotent record: one row per (session, dedupe key).
CREATE UNIQUE INDEX captures_dedupe ON captures (session_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
