#!/usr/bin/env bash
# End-to-end push at real distances: `run-task` replacing an index from a generated CSV (served
# over HTTP on 127.0.0.1) into the fake Algolia over HTTP with a per-call latency of 0, 20 and
# 100 ms (`fake_algolia --latency-ms`), against the official clients on the same data and the
# same fake: Python 4.x `replace_all_objects` (csv.DictReader) and JavaScript v5
# `replaceAllObjects` (csv-parse). Runs are paired (ours, JS, Python, ours, JS, Python, …); each
# tool's median of RUNS (default 3) is printed with records/s, peak RSS and our ratio to it.
#
#   bash benches/e2e_latency.sh                 # 200,000 rows at 0, 20 and 100 ms
#   ROWS=50000 LATENCIES="100" RUNS=1 bash benches/e2e_latency.sh
#   CLIENTS="js" bash benches/e2e_latency.sh    # only some official clients ("js python" by default)
#
# Needs node ≥ 18 and npm (the script installs `algoliasearch@5` and `csv-parse` into
# target/bench-node) and python3 with pip (it installs `algoliasearch>=4,<5` into
# target/bench-python). Hold other builds off while it runs: everything shares the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-200000}
read -r -a latencies <<< "${LATENCIES:-0 20 100}"
read -r -a clients <<< "${CLIENTS:-js python}"
runs=${RUNS:-3}

cargo build --release --bin run-task --example fake_algolia >&2
for client in "${clients[@]}"; do
  case "$client" in
    js)
      if [ ! -d target/bench-node/node_modules/algoliasearch ] || [ ! -d target/bench-node/node_modules/csv-parse ]; then
        mkdir -p target/bench-node
        npm install --prefix target/bench-node --no-audit --no-fund --silent algoliasearch@5 csv-parse@5 >&2
      fi
      cp benches/js_replace_all.mjs target/bench-node/ ;;
    python)
      if ! PYTHONPATH=target/bench-python python3 -c 'import algoliasearch' 2>/dev/null; then
        python3 -m pip install --quiet --target target/bench-python 'algoliasearch>=4,<5' >&2
      fi ;;
    *) echo "unknown client $client (expected js or python)" >&2; exit 2 ;;
  esac
done
js_version=$(node -p 'require("./target/bench-node/node_modules/algoliasearch/package.json").version' 2>/dev/null || echo "?")
py_version=$(PYTHONPATH=target/bench-python python3 -c 'import algoliasearch; print(algoliasearch.__version__)' 2>/dev/null || echo "?")

work=$(mktemp -d)
fake_pid=""
stop_fake() { if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi; fake_pid=""; }
trap 'stop_fake; kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
server=$!
python3 benches/gen_products.py "$rows" > "$work/products.csv"
csv_url="http://127.0.0.1:$port/products.csv"
sleep 1

start_fake() {
  : > "$work/fake.txt"
  target/release/examples/fake_algolia --latency-ms "$1" > "$work/fake.txt" 2> "$work/fake.err" &
  fake_pid=$!
  for _ in $(seq 1 50); do [ -s "$work/fake.txt" ] && break; sleep 0.1; done
  read -r fake_url app_id api_key < "$work/fake.txt"
  cat > "$work/task.json" <<JSON
{"action": "replace",
 "source": {"type": "csv", "input": {"url": "$csv_url", "uniqueIDColumn": "id",
            "mapping": {"price": "float", "in_stock": "boolean", "stock": "integer", "tags": "json"}}},
 "destination": {"type": "search", "input": {"indexName": "products"},
                 "authentication": {"type": "algolia", "input": {"appID": "$app_id", "apiKey": "$api_key"}}}}
JSON
}

rss_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$1"; }
# Each prints "records seconds rss_mb".
run_ours() {
  RUST_LOG=info INGESTION__ALGOLIA__HOSTS="$fake_url" /usr/bin/time -v target/release/run-task --task-file "$work/task.json" \
    > "$work/summary.json" 2> "$work/time.txt" || { tail -5 "$work/time.txt" >&2; exit 1; }
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["recordsPushed"], s["durationMs"]/1000, end=" ")' "$work/summary.json"
  rss_mb "$work/time.txt"; echo
}
run_js() {
  /usr/bin/time -v node target/bench-node/js_replace_all.mjs "$fake_url" "$app_id" "$api_key" "$csv_url" products \
    > "$work/js.json" 2> "$work/js-time.txt" || { tail -20 "$work/js-time.txt" >&2; exit 1; }
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["records"], s["seconds"], end=" ")' "$work/js.json"
  rss_mb "$work/js-time.txt"; echo
}
run_python() {
  PYTHONPATH=target/bench-python /usr/bin/time -v python3 benches/python_replace_all.py "$fake_url" "$app_id" "$api_key" \
    "$csv_url" products > "$work/py.json" 2> "$work/py-time.txt" || { tail -20 "$work/py-time.txt" >&2; exit 1; }
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["records"], s["seconds"], end=" ")' "$work/py.json"
  rss_mb "$work/py-time.txt"; echo
}
# The median line (by seconds) of a file of "records seconds rss_mb" lines.
median() { sort -k2 -g "$1" | sed -n "$(( ($(wc -l < "$1") + 1) / 2 ))p"; }
rate() { python3 -c "print(int($1/$2))"; }

mb=$(python3 -c "import os; print(round(os.path.getsize('$work/products.csv')/1e6, 1))")
echo "$rows rows ($mb MB of CSV), medians of $runs paired runs; run-task with push.in_flight 4 → max_in_flight 32 (adaptive)"
printf '%-8s %-34s %-9s %-12s %-12s %s\n' latency tool seconds records/s peak_RSS_MB "run-task is"
for latency in "${latencies[@]}"; do
  start_fake "$latency"
  run_ours > /dev/null  # warm-up: the fake's memory, the page cache
  : > "$work/ours.txt"; : > "$work/js.txt"; : > "$work/python.txt"
  for _ in $(seq 1 "$runs"); do
    run_ours >> "$work/ours.txt"
    for client in "${clients[@]}"; do "run_$client" >> "$work/$client.txt"; done
  done
  read -r pushed seconds rss < <(median "$work/ours.txt")
  [ "$pushed" = "$rows" ] || { echo "run-task pushed $pushed of $rows records" >&2; cat "$work/summary.json" >&2; exit 1; }
  ours=$(rate "$pushed" "$seconds")
  printf '%-8s %-34s %-9s %-12s %-12s %s\n' "${latency} ms" "run-task" "$seconds" "$ours" "$rss" ""
  # The window of the last run, as its log says.
  grep -h "concurrency toward Algolia at the end" "$work/time.txt" | sed 's/.*\(concurrency toward\)/         \1/' | cut -c1-170 || true
  for client in "${clients[@]}"; do
    read -r records seconds rss < <(median "$work/$client.txt")
    [ "$records" = "$rows" ] || { echo "$client sent $records of $rows records" >&2; exit 1; }
    theirs=$(rate "$records" "$seconds")
    name="JS algoliasearch $js_version"; [ "$client" = python ] && name="Python algoliasearch $py_version"
    printf '%-8s %-34s %-9s %-12s %-12s %s\n' "${latency} ms" "$name" "$seconds" "$theirs" "$rss" \
      "$(python3 -c "print(round($ours/$theirs, 1))")x faster"
  done
  stop_fake
done
