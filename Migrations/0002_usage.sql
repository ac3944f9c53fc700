-- 0002: what each LLM call used and cost, beside its route (SPEC v2 "Usage and prompt-cache figures").
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
