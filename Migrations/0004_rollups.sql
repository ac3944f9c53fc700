-- 0004: hourly rollups of the captures, for stats and grouped stats that read a few thousand rows instead of
-- every capture (SPEC v2 "Operators' views"; BENCHMARKS.md "Grouped stats").
--
-- One row per hour (bucket = captured_at / 3600000) and combination of what stats break captures down by:
-- agent, whether TaaS routed the call, the served model, algorithm, algorithm source and thinking. '' stands
-- for a missing value (the service never stores an empty one). The sums are those of `UsageSQL.totals`;
-- money keeps how many captures reported it, so a sum of none stays null.
--
-- The writer folds captures into the rollups in id order, off the record path, in batches; rollup_progress
-- holds the last id folded. Queries read the rollups for whole hours and the captures themselves for the
-- partial hours at the ends of a range and for ids above the mark, so answers are exact at every moment.
-- Retention subtracts what it deletes (for ids at or below the mark) in the same transaction. Existing
-- captures are folded by the service after this migration, in batches, so the migration itself is instant.

CREATE TABLE capture_rollups (
    bucket             INTEGER NOT NULL,
    agent_id           TEXT    NOT NULL,
    autorouted         INTEGER NOT NULL,
    model              TEXT    NOT NULL,
    algo               TEXT    NOT NULL,
    algo_source        TEXT    NOT NULL,
    thinking           TEXT    NOT NULL,
    captures           INTEGER NOT NULL,
    with_usage         INTEGER NOT NULL,
    input_tokens       REAL    NOT NULL,
    output_tokens      REAL    NOT NULL,
    cache_read_tokens  REAL    NOT NULL,
    cache_write_tokens REAL    NOT NULL,
    cost_captures      INTEGER NOT NULL,
    cost_usd           REAL    NOT NULL,
    saved_captures     INTEGER NOT NULL,
    cache_saved_usd    REAL    NOT NULL,
    PRIMARY KEY (bucket, agent_id, autorouted, model, algo, algo_source, thinking)
) STRICT, WITHOUT ROWID;

-- Stats of one agent.
CREATE INDEX capture_rollups_by_agent ON capture_rollups (agent_id, bucket);

CREATE TABLE rollup_progress (
    slot           INTEGER PRIMARY KEY CHECK (slot = 1),
    folded_through INTEGER NOT NULL CHECK (folded_through >= 0)
) STRICT;

INSERT INTO rollup_progress (slot, folded_through) VALUES (1, 0);
