-- 0006: attribution and budgets (SPEC v3 "Attribution", "Budgets (warn only)"; the SPEC numbers the attribution
-- migration 0005, which schema 5's dashboard rollups took first: see README "Departures").
--
-- captures: what started the run (`trigger`), the channel it came from (`channel`), the time to the first byte
-- (`ttfb_ms`) and, for a failed call, the host's failure kind (`failure_kind`); NULL when the host gave none, as
-- for every capture stored before. Added columns: no row is rewritten.
--
-- capture_rollups: trigger and channel join the key ('' for none), so stats group by them and a page shows spend
-- by trigger from the rollups. Every capture stored before has neither, so the rows are copied with '' for both
-- and stay exact: no capture is folded again. The table holds one row per hour and combination, a few thousand
-- rows for a million captures, so the copy takes a moment.
--
-- budgets: USD per UTC day for an agent or a session, warn only; retention never touches the table.

ALTER TABLE captures ADD COLUMN trigger TEXT;
ALTER TABLE captures ADD COLUMN channel TEXT;
ALTER TABLE captures ADD COLUMN ttfb_ms INTEGER CHECK (ttfb_ms BETWEEN 0 AND 2147483647);
ALTER TABLE captures ADD COLUMN failure_kind TEXT;

CREATE TABLE capture_rollups_0006 (
    bucket             INTEGER NOT NULL,
    agent_id           TEXT    NOT NULL,
    autorouted         INTEGER NOT NULL,
    model              TEXT    NOT NULL,
    algo               TEXT    NOT NULL,
    algo_source        TEXT    NOT NULL,
    thinking           TEXT    NOT NULL,
    trigger            TEXT    NOT NULL,
    channel            TEXT    NOT NULL,
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
    route_changes      INTEGER NOT NULL,
    PRIMARY KEY (bucket, agent_id, autorouted, model, algo, algo_source, thinking, trigger, channel)
) STRICT, WITHOUT ROWID;

INSERT INTO capture_rollups_0006
SELECT bucket, agent_id, autorouted, model, algo, algo_source, thinking, '', '', captures, with_usage, input_tokens,
       output_tokens, cache_read_tokens, cache_write_tokens, cost_captures, cost_usd, saved_captures,
       cache_saved_usd, route_changes
FROM capture_rollups;

DROP TABLE capture_rollups;
ALTER TABLE capture_rollups_0006 RENAME TO capture_rollups;
CREATE INDEX capture_rollups_by_agent ON capture_rollups (agent_id, bucket);

CREATE TABLE budgets (
    scope       TEXT    NOT NULL CHECK (scope IN ('agent', 'session')),
    subject     TEXT    NOT NULL,
    usd_per_day REAL    NOT NULL CHECK (usd_per_day > 0),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, subject)
) STRICT, WITHOUT ROWID;
