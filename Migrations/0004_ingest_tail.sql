-- 0004: an append-only tail in front of the indexed table (the engine, BENCHMARKS.md "The ingest tail").
--
-- `record` inserts into captures_recent, which has no secondary index: a commit dirties the one or two table
-- pages at its end, where a commit into `captures` dirtied one random leaf of each of three indexes per
-- capture. The writer moves the tail into `captures` in large batches (INSERT … SELECT + DELETE in one
-- transaction), where many captures share each index leaf. A capture is in exactly one of the two tables in
-- any snapshot. Ids stay unique across both: the writer assigns them past both tables and `captures`'
-- AUTOINCREMENT high-water mark, which the move keeps current.
--
-- The columns and CHECKs are those of `captures` (0001 + 0002) in the same order, so a row the tail accepted
-- is always accepted by `captures`. Empty on creation: the migration is instant at any size.

CREATE TABLE captures_recent (
    id                     INTEGER PRIMARY KEY,
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
    dedupe_key             TEXT,
    autorouted             INTEGER NOT NULL DEFAULT 1 CHECK (autorouted IN (0, 1)),
    provider               TEXT,
    requested_model        TEXT,
    input_tokens           INTEGER CHECK (input_tokens >= 0),
    output_tokens          INTEGER CHECK (output_tokens >= 0),
    cache_read_tokens      INTEGER CHECK (cache_read_tokens >= 0),
    cache_write_tokens     INTEGER CHECK (cache_write_tokens >= 0),
    cost_usd               REAL    CHECK (cost_usd >= 0),
    cache_saved_usd        REAL    CHECK (cache_saved_usd >= 0),
    duration_ms            INTEGER CHECK (duration_ms >= 0),
    outcome                TEXT    CHECK (outcome IN ('ok', 'error', 'aborted'))
) STRICT;

-- Every capture, for the queries that scan (stats, report, health, forwarding); lastRoute and history read
-- the two tables through their own statements.
CREATE VIEW captures_all AS
    SELECT * FROM captures
    UNION ALL
    SELECT * FROM captures_recent;
