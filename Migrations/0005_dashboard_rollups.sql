-- 0005: what the dashboard tab reads without visiting every capture (SPEC v3 "The dashboard tab"; BENCHMARKS.md
-- "Dashboard pages").
--
-- captures.route_changed: 1 when an autorouted capture's served model differs from that of the previous autorouted
-- capture of its session (by capture time, then id), else 0 (SPEC v3 "Attribution": routeChanged). The writer sets
-- it in the capture's INSERT, against the captures stored then; for captures stored before this migration (NULL) it
-- sets it when it folds them into the rollups, and a query reading one before that computes it the same way
-- (RollupSQL.routeChanged).
--
-- capture_rollups.route_changes: the route changes among a rollup row's captures, summed like the other columns.
--
-- session_rollups: captures per hour, session and agent ('' for none): the busiest sessions and the number of
-- sessions in a range come from it instead of a pass over every capture. It holds the captures at or below the
-- rollups' id mark whose time is before rollup_progress.sessions_through: the writer adds each hour once it has
-- ended, in one pass over that hour's captures (rows appended at the end of the tree, keyed by the hour first),
-- and a capture that arrives for an hour already added is added when it is folded. Queries read the hours after
-- sessions_through (the current one) from the captures. Retention takes out what it deletes, as for
-- capture_rollups.
--
-- The rollups are emptied so that the writer folds every capture again, off the record path, in batches (stats stay
-- exact meanwhile: unfolded captures are read one by one); the migration itself is instant.

ALTER TABLE captures ADD COLUMN route_changed INTEGER CHECK (route_changed IN (0, 1));

ALTER TABLE capture_rollups ADD COLUMN route_changes INTEGER NOT NULL DEFAULT 0;

CREATE TABLE session_rollups (
    bucket     INTEGER NOT NULL,
    session_id TEXT    NOT NULL,
    agent_id   TEXT    NOT NULL,
    captures   INTEGER NOT NULL,
    PRIMARY KEY (bucket, session_id, agent_id)
) STRICT, WITHOUT ROWID;

-- The sessions of one agent in a range.
CREATE INDEX session_rollups_by_agent ON session_rollups (agent_id, bucket, session_id, captures);

-- The same by UTC day (day = captured_at / 86400000): a range of days reads a row per session and day instead of
-- one per session and hour (a session active every hour of 30 days: 30 rows instead of 720).
CREATE TABLE session_days (
    day        INTEGER NOT NULL,
    session_id TEXT    NOT NULL,
    agent_id   TEXT    NOT NULL,
    captures   INTEGER NOT NULL,
    PRIMARY KEY (day, session_id, agent_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX session_days_by_agent ON session_days (agent_id, day, session_id, captures);

-- The newest id stored before this migration: the fold sets route_changed up to it, in smaller batches.
ALTER TABLE rollup_progress ADD COLUMN unsettled_through INTEGER NOT NULL DEFAULT 0;

-- The session tables hold the captures (at or below folded_through) with captured_at before this time (ms).
ALTER TABLE rollup_progress ADD COLUMN sessions_through INTEGER NOT NULL DEFAULT -4611686018427387904;

DELETE FROM capture_rollups;
UPDATE rollup_progress SET folded_through = 0, unsettled_through = (SELECT coalesce(max(id), 0) FROM captures)
WHERE slot = 1;
