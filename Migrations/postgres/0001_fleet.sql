-- 0001: the fleet's captures, partitioned by month of captured_at, and each host's forwarding progress.
-- Everything lives in the schema taas_capture, so the tables never clash with others in the database.
-- captured_at is milliseconds since the epoch, as on every host; a partition holds [month start, next
-- month start) in those units. Partitions are created ahead by the forwarder (FleetSchema.ensurePartitions).

CREATE TABLE taas_capture.captures (
    -- Byte order, so a cursor's host id compares the same on every server whatever its locale.
    host_id                TEXT    COLLATE "C" NOT NULL,
    id                     BIGINT  NOT NULL,
    session_id             TEXT    NOT NULL,
    agent_id               TEXT,
    captured_at            BIGINT  NOT NULL,
    taas_request_id        TEXT,
    taas_trace_id          TEXT,
    openclaw_turn_id       TEXT,
    openclaw_attempt       TEXT,
    autorouter_model       TEXT,
    autorouter_algo        TEXT,
    autorouter_algo_source TEXT,
    thinking_applied       TEXT,
    routed_context_window  INTEGER,
    autorouted             BOOLEAN NOT NULL,
    provider               TEXT,
    requested_model        TEXT,
    input_tokens           BIGINT,
    output_tokens          BIGINT,
    cache_read_tokens      BIGINT,
    cache_write_tokens     BIGINT,
    cost_usd               DOUBLE PRECISION,
    cache_saved_usd        DOUBLE PRECISION,
    duration_ms            BIGINT,
    outcome                TEXT,
    -- A unique key on a partitioned table must hold the partition key. A capture's captured_at never
    -- changes, so (host_id, id) is unique exactly when this is.
    PRIMARY KEY (host_id, id, captured_at)
) PARTITION BY RANGE (captured_at);

-- fleet last-route and history by session or agent, newest first, across hosts.
CREATE INDEX captures_by_session ON taas_capture.captures (session_id, captured_at DESC, id DESC);
CREATE INDEX captures_by_agent ON taas_capture.captures (agent_id, captured_at DESC, id DESC)
    WHERE agent_id IS NOT NULL;

-- One row per forwarding host: the largest local id it has stored here. Written in the same transaction
-- as the batch it covers, so it is exact after a crash of either side.
CREATE TABLE taas_capture.hosts (
    host_id           TEXT   PRIMARY KEY,
    forwarded_through BIGINT NOT NULL DEFAULT 0,
    first_seen_at     BIGINT NOT NULL,
    last_forward_at   BIGINT
);
