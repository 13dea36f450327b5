#!/usr/bin/env bash
# The rate limiter under many clients: one request from each of N loopback addresses
# (127.1.0.0/16, default 50,000) against a release build of `ingestion serve` on SQLite, while
# one ordinary client keeps reading `GET /1/tasks`. Prints the server's RSS before and after,
# and the ordinary client's p50/p99 latency alone and during the spread.
#
#   benches/rate_limit_spread.sh [ADDRESSES]
#
# Target (issue 13): the limiter stays under 20 MB for 50,000 addresses and the other client's
# p99 is unchanged.
set -euo pipefail

ADDRESSES="${1:-50000}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

(cd "$ROOT" && cargo build --release --quiet --bin ingestion)

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
APP=BENCHAPP
KEY=bench-admin-key

INGESTION__AUTH__APP_ID=$APP INGESTION__AUTH__API_KEY=$KEY RUST_LOG=warn \
    "$TARGET_DIR/release/ingestion" serve --role api --data-dir "$WORK/data" \
    --listen "127.0.0.1:$PORT" 2>"$WORK/server.log" &
SERVER=$!
cleanup() {
    kill -TERM "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
    sleep 0.1
done

python3 - "$PORT" "$SERVER" "$ADDRESSES" "$APP" "$KEY" <<'EOF'
import http.client, sys, threading, time

port, pid, count, app, key = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

def rss_mb():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

def ordinary(samples, stop):
    # The ordinary client: 127.0.0.1, authenticated, one request at a time (200 per minute is
    # the default limit, so it paces itself under it).
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"X-Algolia-Application-Id": app, "X-Algolia-API-Key": key}
    while not stop.is_set():
        started = time.perf_counter()
        conn.request("GET", "/1/tasks", headers=headers)
        response = conn.getresponse()
        response.read()
        samples.append((time.perf_counter() - started) * 1000)
        time.sleep(0.3)

def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]

def measure(seconds):
    samples, stop = [], threading.Event()
    thread = threading.Thread(target=ordinary, args=(samples, stop))
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join()
    return samples

before = rss_mb()
alone = measure(10)

samples, stop = [], threading.Event()
thread = threading.Thread(target=ordinary, args=(samples, stop))
thread.start()
started = time.time()
refused = 0
for i in range(count):
    address = f"127.1.{i // 256}.{i % 256}"
    conn = http.client.HTTPConnection("127.0.0.1", port, source_address=(address, 0))
    try:
        conn.request("GET", "/1/tasks")  # unauthenticated: the limiter counts it first
        conn.getresponse().read()
    except OSError:
        refused += 1
    finally:
        conn.close()
spread_seconds = time.time() - started
stop.set()
thread.join()
after = rss_mb()

print(f"addresses: {count} in {spread_seconds:.1f} s ({refused} connection errors)")
print(f"server RSS: {before:.1f} MB before, {after:.1f} MB after (+{after - before:.1f} MB)")
print(f"other client alone:  p50 {percentile(alone, 0.5):.2f} ms, p99 {percentile(alone, 0.99):.2f} ms ({len(alone)} requests)")
print(f"during the spread:   p50 {percentile(samples, 0.5):.2f} ms, p99 {percentile(samples, 0.99):.2f} ms ({len(samples)} requests)")
EOF
