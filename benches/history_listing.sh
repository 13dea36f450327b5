#!/usr/bin/env bash
# Listing at volume: seeds 100,000 runs (100 tasks) and 1,000,000 events into a fresh store, then
# measures the lists a console clicks, one request at a time (wrk, 1 connection), against a
# release build of `ingestion serve`:
#
#   GET /1/runs?itemsPerPage=100                 (and with taskID=, status=finished, type=reindex)
#   GET /1/runs/{runID}/events?itemsPerPage=100
#
#   benches/history_listing.sh [sqlite|postgres] [DURATION_SECONDS]
#
# PostgreSQL: a database `bench_history` is dropped and created on $PGURL's server
# (default postgres://postgres@127.0.0.1:5432). Target: p99 <= 15 ms for every list.
# wrk is the Debian package `wrk` (installed with apt-get when missing and running as root).
set -euo pipefail

BACKEND="${1:-sqlite}"
DURATION="${2:-10}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PGURL="${PGURL:-postgres://postgres@127.0.0.1:5432}"
RUNS=100000
EVENTS_PER_RUN=10
TASKS=100

if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -qq wrk >/dev/null
    else
        echo "wrk is needed: apt-get install wrk" >&2
        exit 2
    fi
fi

(cd "$ROOT" && cargo build --release --quiet --bin ingestion)

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
APP=BENCHAPP
KEY=bench-admin-key
case "$BACKEND" in
sqlite) DATABASE_URL="sqlite://$WORK/data/ingestion.db" ;;
postgres)
    psql -q "$PGURL/postgres" -c 'DROP DATABASE IF EXISTS bench_history' -c 'CREATE DATABASE bench_history'
    DATABASE_URL="$PGURL/bench_history"
    ;;
*)
    echo "backend: sqlite or postgres" >&2
    exit 2
    ;;
esac
mkdir -p "$WORK/data"

SERVER=""
start_server() {
    INGESTION__AUTH__APP_ID=$APP INGESTION__AUTH__API_KEY=$KEY \
    INGESTION__RATE_LIMIT__REQUESTS=1000000000 INGESTION__RATE_LIMIT__RUNS_REQUESTS=1000000000 \
    INGESTION__RETENTION__DAYS=3650 RUST_LOG=warn \
        "$TARGET_DIR/release/ingestion" serve --data-dir "$WORK/data" --database-url "$DATABASE_URL" \
        --listen "127.0.0.1:$PORT" 2>>"$WORK/server.log" &
    SERVER=$!
    for _ in $(seq 200); do
        curl -fs "$BASE/ready" >/dev/null 2>&1 && return
        sleep 0.1
    done
    echo "the server did not start:" >&2
    cat "$WORK/server.log" >&2
    exit 1
}
stop_server() {
    kill -TERM "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
}
cleanup() {
    stop_server
    if [ -n "${KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

api() {
    curl -fsS -X "$1" "$BASE$2" -H "X-Algolia-Application-Id: $APP" -H "X-Algolia-API-Key: $KEY" \
        -H 'content-type: application/json' ${3:+-d "$3"}
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

start_server
DEST=$(api POST /1/destinations '{"type":"search","name":"bench","input":{"indexName":"bench"}}' | field destinationID)
SOURCE=$(api POST /1/sources '{"type":"json","name":"bench","input":{"url":"https://example.com/p.json","uniqueIDColumn":"id"}}' | field sourceID)
for _ in $(seq "$TASKS"); do
    api POST /1/tasks "{\"sourceID\":\"$SOURCE\",\"destinationID\":\"$DEST\",\"trigger\":{\"type\":\"onDemand\"},\"action\":\"replace\"}" >/dev/null
done

# Runs one every 20 s back from now (23 days), 1 in 50 skipped, the newest 100 queued; types
# alternate between reindex and update; each run has EVENTS_PER_RUN events.
NOW_MS=$(($(date +%s) * 1000))
echo "seeding $RUNS runs and $((RUNS * EVENTS_PER_RUN)) events ($BACKEND)"
SEED_START=$(date +%s)
if [ "$BACKEND" = sqlite ]; then
    python3 - "$WORK/data/ingestion.db" "$RUNS" "$EVENTS_PER_RUN" "$NOW_MS" "$APP" <<'PY'
import sqlite3, sys
path, runs, per_run, now, app = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
db = sqlite3.connect(path, timeout=60)
db.executescript(f"""
CREATE TEMP TABLE task_ids AS SELECT row_number() OVER (ORDER BY seq) - 1 AS n, id FROM tasks;
WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < {runs})
INSERT INTO runs (id, app_id, task_id, status, type, outcome, reason_code, failure_threshold,
                  created_at, updated_at, started_at, finished_at, attempt)
SELECT lower(hex(randomblob(16))), '{app}',
       (SELECT id FROM task_ids WHERE task_ids.n = i.n % (SELECT COUNT(*) FROM task_ids)),
       CASE WHEN i.n >= {runs} - 100 THEN 'created' WHEN i.n % 50 = 0 THEN 'skipped' ELSE 'finished' END,
       CASE WHEN i.n % 2 = 0 THEN 'reindex' ELSE 'update' END,
       CASE WHEN i.n >= {runs} - 100 OR i.n % 50 = 0 THEN NULL WHEN i.n % 7 = 0 THEN 'failure' ELSE 'success' END,
       NULL, 0,
       {now} - ({runs} - i.n) * 20000, {now} - ({runs} - i.n) * 20000 + 5000,
       CASE WHEN i.n >= {runs} - 100 OR i.n % 50 = 0 THEN NULL ELSE {now} - ({runs} - i.n) * 20000 + 1000 END,
       CASE WHEN i.n >= {runs} - 100 THEN NULL ELSE {now} - ({runs} - i.n) * 20000 + 5000 END,
       1
FROM i;
WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < {per_run})
INSERT INTO events (id, app_id, run_id, status, type, data, batch_size, published_at)
SELECT lower(hex(randomblob(16))), '{app}', r.id,
       CASE WHEN k.n % 5 = 4 THEN 'failed' ELSE 'succeeded' END,
       CASE WHEN k.n = 0 THEN 'fetch' ELSE 'record' END,
       '{{"indexName":"bench"}}', 1000, r.created_at + k.n * 100
FROM runs r, k;
""")
db.commit()
PY
else
    psql -q "$DATABASE_URL" -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE task_ids AS SELECT (row_number() OVER (ORDER BY seq) - 1)::int AS n, id FROM tasks;
INSERT INTO runs (id, app_id, task_id, status, type, outcome, reason_code, failure_threshold,
                  created_at, updated_at, started_at, finished_at, attempt)
SELECT gen_random_uuid()::text, '$APP', t.id,
       CASE WHEN i.n >= $RUNS - 100 THEN 'created' WHEN i.n % 50 = 0 THEN 'skipped' ELSE 'finished' END,
       CASE WHEN i.n % 2 = 0 THEN 'reindex' ELSE 'update' END,
       CASE WHEN i.n >= $RUNS - 100 OR i.n % 50 = 0 THEN NULL WHEN i.n % 7 = 0 THEN 'failure' ELSE 'success' END,
       NULL, 0,
       $NOW_MS - ($RUNS - i.n) * 20000::bigint, $NOW_MS - ($RUNS - i.n) * 20000::bigint + 5000,
       CASE WHEN i.n >= $RUNS - 100 OR i.n % 50 = 0 THEN NULL ELSE $NOW_MS - ($RUNS - i.n) * 20000::bigint + 1000 END,
       CASE WHEN i.n >= $RUNS - 100 THEN NULL ELSE $NOW_MS - ($RUNS - i.n) * 20000::bigint + 5000 END,
       1
FROM generate_series(0, $RUNS - 1) AS i(n)
JOIN task_ids t ON t.n = i.n % $TASKS
ORDER BY i.n;
INSERT INTO events (id, app_id, run_id, status, type, data, batch_size, published_at)
SELECT gen_random_uuid()::text, '$APP', r.id,
       CASE WHEN k.n % 5 = 4 THEN 'failed' ELSE 'succeeded' END,
       CASE WHEN k.n = 0 THEN 'fetch' ELSE 'record' END,
       '{"indexName":"bench"}', 1000, r.created_at + k.n * 100
FROM runs r, generate_series(0, $EVENTS_PER_RUN - 1) AS k(n)
ORDER BY r.seq, k.n;
ANALYZE;
SQL
fi
echo "seeded in $(($(date +%s) - SEED_START)) s"

# Restart so that no connection holds a plan or a cache from before the seeding.
stop_server
start_server

TASK=$(api GET '/1/tasks?itemsPerPage=1' | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"][0]["taskID"])')
RUN=$(api GET '/1/runs?itemsPerPage=1&status=finished' | python3 -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["runID"])')

cat >"$WORK/auth.lua" <<LUA
wrk.headers["X-Algolia-Application-Id"] = "$APP"
wrk.headers["X-Algolia-API-Key"] = "$KEY"
done = function(summary, latency, requests)
  io.write(string.format("%.0f req/s  p50 %.2f ms  p99 %.2f ms  max %.2f ms  errors %d non2xx %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.errors.status))
end
LUA

measure() {
    printf '%-58s ' "$1"
    wrk -t1 -c1 -d"${DURATION}s" -s "$WORK/auth.lua" "$BASE$1" | tail -n 1
}
echo "$BACKEND: one request at a time, ${DURATION}s each"
measure "/1/runs?itemsPerPage=100"
measure "/1/runs?itemsPerPage=100&taskID=$TASK"
measure "/1/runs?itemsPerPage=100&status=finished"
measure "/1/runs?itemsPerPage=100&type=reindex"
measure "/1/runs?itemsPerPage=100&status=finished&taskID=$TASK"
measure "/1/runs?itemsPerPage=100&page=50"
measure "/1/runs/$RUN/events?itemsPerPage=100"
measure "/1/runs/$RUN/events?itemsPerPage=100&status=failed"
