-- 0002: what each LLM call used and cost, beside its route (SPEC v2 "Usage and prompt-cache figures"), and
-- the algorithm overrides operators pin.
-- ADD COLUMN changes the schema text and rewrites no row, so every capture keeps its bytes; SQLite reads the
-- existing rows once to test the new CHECK constraints (https://www.sqlite.org/lang_altertable.html).
-- Every capture stored before this migration was autorouted (schema 1 stored nothing else).

ALTER TABLE captures ADD COLUMN autorouted INTEGER NOT NULL DEFAULT 1 CHECK (autorouted IN (0, 1));
ALTER TABLE captures ADD COLUMN provider TEXT;
ALTER TABLE captures ADD COLUMN requested_model TEXT;
ALTER TABLE captures ADD COLUMN input_tokens INTEGER CHECK (input_tokens >= 0);
ALTER TABLE captures ADD COLUMN output_tokens INTEGER CHECK (output_tokens >= 0);
ALTER TABLE captures ADD COLUMN cache_read_tokens INTEGER CHECK (cache_read_tokens >= 0);
ALTER TABLE captures ADD COLUMN cache_write_tokens INTEGER CHECK (cache_write_tokens >= 0);
ALTER TABLE captures ADD COLUMN cost_usd REAL CHECK (cost_usd >= 0);
ALTER TABLE captures ADD COLUMN cache_saved_usd REAL CHECK (cache_saved_usd >= 0);
ALTER TABLE captures ADD COLUMN duration_ms INTEGER CHECK (duration_ms >= 0);
ALTER TABLE captures ADD COLUMN outcome TEXT CHECK (outcome IN ('ok', 'error', 'aborted'));

-- Algorithm overrides (SPEC v2 "Algorithm overrides"): one row per session or agent, never touched by capture
-- retention. A cleared override keeps its row with algorithm NULL, so `algorithms {sinceVersion}` can report
-- it; `version` is the change counter every client follows (the largest version of any row).
CREATE TABLE algorithm_overrides (
    scope      TEXT    NOT NULL CHECK (scope IN ('session', 'agent')),
    subject    TEXT    NOT NULL,
    algorithm  TEXT    CHECK (algorithm IN ('best_fit', 'price_performance', 'savings_curve', 'cost', 'ttft', 'tps')),
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (scope, subject)
) STRICT, WITHOUT ROWID;
