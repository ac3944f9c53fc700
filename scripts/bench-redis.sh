# Sourced by scripts/bench and scripts/bench-reads: the Redis side of every comparison, in one place.
# (A library, not a command: it only defines what follows.)

# The stream entry ../shared/bench/README.md gives, and the reads compared with lastRoute and history.
XADD=(XADD 'route:__rand_int__' MAXLEN '~' 1000 '*' sessionId oc:0123456789abcdef agentId new-agent-2
    model anthropic/claude-sonnet-4 algo best_fit algoSource org thinking medium ctx 200000
    requestId req-abc traceId trace-abc turn t1 attempt 1)
XREV1=(XREVRANGE 'route:__rand_int__' + - COUNT 1)
XREV100=(XREVRANGE 'route:__rand_int__' + - COUNT 100)
REDIS_PID=

# start_redis DIR FSYNC: a fresh redis-server on DIR/redis.sock with AOF on (appendfsync FSYNC); waits
# until it answers. Sets REDIS_PID and REDIS_SOCK.
start_redis() {
    rm -rf "$1"; mkdir -p "$1"
    REDIS_SOCK=$1/redis.sock
    redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 --dir "$1" \
        --appendonly yes --appendfsync "$2" --save '' --daemonize no --loglevel warning >>"$1.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 200); do
        redis-cli -s "$REDIS_SOCK" ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "redis-server did not start" >&2; tail -5 "$1.log" >&2; return 1
}

stop_redis() {
    [ -n "$REDIS_PID" ] || return 0
    kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=
}

# load_redis ROWS SESSIONS: ROWS XADDs over SESSIONS streams, then waits for Redis's steady state. Loading
# grows the AOF past its rewrite threshold, and Redis then forks a rewrite that would take a core from the
# reads measured next (ours are measured after the stats fold, in their steady state too).
load_redis() {
    redis-benchmark -s "$REDIS_SOCK" -n "$1" -c 8 -r "$2" -P 16 -q "${XADD[@]}" >/dev/null
    for _ in $(seq 600); do
        redis-cli -s "$REDIS_SOCK" info persistence | grep -Eq '^aof_rewrite_(in_progress|scheduled):1' || break
        sleep 0.1
    done
}
