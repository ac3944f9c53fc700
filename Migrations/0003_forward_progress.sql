-- 0003: how far this host's captures have reached the fleet's PostgreSQL (SPEC v2 "The fleet on PostgreSQL").
-- At most one row, present while `serve --forward` is configured; `serve` without it removes the row. While it
-- exists retention keeps every capture with id > forwarded_through, except what maxRows forces out, which
-- is counted in dropped_unforwarded. forwarded_through follows the fleet's own mark (which is exact; this
-- copy may lag it by a batch after a crash, which only keeps a few captures longer).

CREATE TABLE forward_progress (
    slot                INTEGER PRIMARY KEY CHECK (slot = 1),
    host_id             TEXT    NOT NULL,
    forwarded_through   INTEGER NOT NULL CHECK (forwarded_through >= 0),
    dropped_unforwarded INTEGER NOT NULL DEFAULT 0 CHECK (dropped_unforwarded >= 0),
    updated_at          INTEGER NOT NULL
) STRICT;
