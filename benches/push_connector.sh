#!/usr/bin/env bash
# The Push connector end to end (docs/api.md D4): `ingestion serve` (SQLite) between today's
# official Python client and the fake Algolia over HTTP, on 127.0.0.1.
#
#   bash benches/push_connector.sh [RECORDS]      # default 200,000; RUNS=3 runs per median
#
# Prints, medians of RUNS: the client's save_objects_with_transformation through us against its
# save_objects straight into the fake (time, records/s, ratio), the server's peak RSS, and a raw
# load of 8 concurrent clients pushing 1,000-record bodies (accepted/s and applied/s).
# Needs python3 with `algoliasearch>=4,<5`.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-200000}
runs=${RUNS:-3}
cargo build --release --bin ingestion --example fake_algolia >&2
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_once() { # mode → prints the script's output; leaves the server's peak RSS in $work/rss
  local mode=$1
  rm -f "$work/fake.txt" # the previous run's address must not be read before the new one's
  target/release/examples/fake_algolia > "$work/fake.txt" 2>/dev/null &
  local fake_pid=$!
  for _ in $(seq 1 50); do [ -s "$work/fake.txt" ] && break; sleep 0.1; done
  read -r fake_url app_id api_key < "$work/fake.txt"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  rm -rf "$work/data"
  INGESTION__AUTH__APP_ID=$app_id INGESTION__AUTH__API_KEY=$api_key \
  INGESTION__ALGOLIA__HOSTS=$fake_url INGESTION__PUSH__RATE_LIMIT_REQUESTS=1000000 \
  INGESTION__RATE_LIMIT__REQUESTS=1000000 INGESTION__RATE_LIMIT__RUNS_REQUESTS=1000000 \
  INGESTION__PUSH__WAIT_STEP_MS=10 RUST_LOG=warn \
    target/release/ingestion serve --data-dir "$work/data" --listen "127.0.0.1:$port" 2>"$work/serve.log" &
  local serve_pid=$!
  pids=("$fake_pid" "$serve_pid")
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  python3 benches/python_push_bench.py "$mode" "http://127.0.0.1:$port" "$fake_url" "$app_id" "$api_key" "$records"
  awk '/VmHWM/ {printf "%.1f\n", $2/1024}' "/proc/$serve_pid/status" > "$work/rss"
  kill "$serve_pid" "$fake_pid" 2>/dev/null || true
  wait "$serve_pid" "$fake_pid" 2>/dev/null || true
}

: > "$work/through"; : > "$work/direct"; : > "$work/rss_all"; : > "$work/raw_accept"; : > "$work/raw_apply"
for _ in $(seq 1 "$runs"); do
  run_once through >> "$work/through"; cat "$work/rss" >> "$work/rss_all"
  run_once direct >> "$work/direct"
  run_once raw > "$work/raw_out"
  read -r accepted applied < "$work/raw_out"
  echo "$accepted" >> "$work/raw_accept"; echo "$applied" >> "$work/raw_apply"; cat "$work/rss" >> "$work/rss_all"
done
through=$(median < "$work/through"); direct=$(median < "$work/direct")
rss=$(sort -n "$work/rss_all" | tail -1)
accept=$(median < "$work/raw_accept"); apply=$(median < "$work/raw_apply")
awk -v n="$records" -v t="$through" -v d="$direct" -v r="$rss" -v a="$accept" -v p="$apply" 'BEGIN {
  printf "records: %d, medians of %s runs\n", n, ENVIRON["RUNS"] ? ENVIRON["RUNS"] : 3
  printf "save_objects_with_transformation through us: %.2f s (%.0f records/s)\n", t, n / t
  printf "save_objects straight into the fake:          %.2f s (%.0f records/s)\n", d, n / d
  printf "ratio through/direct: %.2fx; server peak RSS (largest run): %s MB\n", t / d, r
  printf "raw push load, 8 clients: accepted in %.2f s (%.0f records/s), applied in %.2f s (%.0f records/s)\n", a, n / a, p, n / p
}'
