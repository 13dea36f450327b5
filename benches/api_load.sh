#!/usr/bin/env bash
# Load test of the API on SQLite: `GET /1/tasks/{taskID}` and `POST /1/tasks` against a release
# build of `ingestion serve`, with wrk (Debian package `wrk`; installed with apt-get when missing
# and running as root). Rate limits are raised through the environment.
#
#   benches/api_load.sh [DURATION_SECONDS] [CONNECTIONS]
#
# Prints requests/s and the p50/p99 latencies of each endpoint. Targets: GET >= 3,000 req/s with
# p99 < 20 ms; POST >= 500 req/s.
set -euo pipefail

DURATION="${1:-15}"
CONNECTIONS="${2:-32}"
THREADS=2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

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

INGESTION__AUTH__APP_ID=$APP INGESTION__AUTH__API_KEY=$KEY \
INGESTION__RATE_LIMIT__REQUESTS=1000000000 INGESTION__RATE_LIMIT__RUNS_REQUESTS=1000000000 \
RUST_LOG=warn \
    "$TARGET_DIR/release/ingestion" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" \
    2>"$WORK/server.log" &
SERVER=$!
cleanup() {
    kill -TERM "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

for _ in $(seq 100); do
    curl -fs "$BASE/ready" >/dev/null 2>&1 && break
    sleep 0.1
done

api() {
    curl -fsS -X "$1" "$BASE$2" -H "X-Algolia-Application-Id: $APP" -H "X-Algolia-API-Key: $KEY" \
        -H 'content-type: application/json' ${3:+-d "$3"}
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

DEST=$(api POST /1/destinations '{"type":"search","name":"bench","input":{"indexName":"bench"}}' | field destinationID)
SOURCE=$(api POST /1/sources '{"type":"json","name":"bench","input":{"url":"https://example.com/p.json","uniqueIDColumn":"id"}}' | field sourceID)
TASK_BODY="{\"sourceID\":\"$SOURCE\",\"destinationID\":\"$DEST\",\"trigger\":{\"type\":\"schedule\",\"cron\":\"*/5 * * * *\"},\"action\":\"save\"}"
TASK=$(api POST /1/tasks "$TASK_BODY" | field taskID)

cat >"$WORK/auth.lua" <<LUA
wrk.headers["X-Algolia-Application-Id"] = "$APP"
wrk.headers["X-Algolia-API-Key"] = "$KEY"
LUA
cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$TASK_BODY'
wrk.headers["X-Algolia-Application-Id"] = "$APP"
wrk.headers["X-Algolia-API-Key"] = "$KEY"
wrk.headers["Content-Type"] = "application/json"
LUA
# wrk counts non-2xx responses; the summary below reports them.
cat >>"$WORK/auth.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f req/s p50 %.2f ms p99 %.2f ms errors %d non2xx %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.errors.status))
end
LUA
sed -n '/^done = /,$p' "$WORK/auth.lua" >>"$WORK/post.lua"

echo "GET  /1/tasks/{taskID}: $THREADS threads, $CONNECTIONS connections, ${DURATION}s"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/auth.lua" "$BASE/1/tasks/$TASK" | grep RESULT
echo "POST /1/tasks: $THREADS threads, $CONNECTIONS connections, ${DURATION}s"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/post.lua" "$BASE/1/tasks" | grep RESULT
echo "tasks stored: $(api GET '/1/tasks?itemsPerPage=1' | python3 -c 'import json,sys; print(json.load(sys.stdin)["pagination"]["nbItems"])')"
