#!/usr/bin/env bash
# End-to-end push benchmark: `run-task` replacing an index from a generated CSV served over HTTP
# on 127.0.0.1, into the fake Algolia over HTTP on 127.0.0.1 (`examples/fake_algolia.rs`).
# Prints records/s and peak RSS of run-task for each size; then, on the first size, the same
# file through the official Algolia Python client (`replace_all_objects` fed by csv.DictReader,
# hosts pointed at the same fake) and the ratio. One fake per size, warmed by one unmeasured
# run-task; each tool then runs RUNS times (default 3) and the median run is printed.
#
#   bash benches/e2e_push.sh              # 200,000 and 2,000,000 rows, Python on 200,000
#   bash benches/e2e_push.sh 50000        # custom sizes
#   PYTHON_COMPARE=0 bash benches/e2e_push.sh   # skip the Python client
#   RUNS=5 bash benches/e2e_push.sh             # more runs per median
# Needs: python3; for the comparison `pip install 'algoliasearch>=4,<5'`.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(200000 2000000)

cargo build --release --bin run-task --example fake_algolia >&2
work=$(mktemp -d)
fake_pid=""
stop_fake() { [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null; fake_pid=""; }
trap 'stop_fake; kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
server=$!
sleep 1

start_fake() {
  rm -f "$work/fake.txt" # the previous fake's address must not be read before the new one's
  target/release/examples/fake_algolia > "$work/fake.txt" 2> "$work/fake.err" &
  fake_pid=$!
  for _ in $(seq 1 50); do [ -s "$work/fake.txt" ] && break; sleep 0.1; done
  read -r fake_url app_id api_key < "$work/fake.txt"
}

rss_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$1"; }

printf '%-10s %-9s %-8s %-12s %-12s %s\n' rows MB seconds records/s peak_RSS_MB tool
runs=${RUNS:-3}
# Runs "$@" RUNS times; prints the median run's "records seconds rss_mb" (by seconds).
median_of() {
  local results=()
  for _ in $(seq 1 "$runs"); do results+=("$("$@")"); done
  printf '%s\n' "${results[@]}" | sort -k2 -g | sed -n "$(( (runs + 1) / 2 ))p"
}
run_task() {
  INGESTION__ALGOLIA__HOSTS="$fake_url" /usr/bin/time -v target/release/run-task --task-file "$work/task-$rows.json" \
    > "$work/summary.json" 2> "$work/time.txt"
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["recordsPushed"], s["durationMs"]/1000, end=" ")' "$work/summary.json"
  rss_mb "$work/time.txt"; echo
}
run_python() {
  /usr/bin/time -v python3 benches/python_replace_all.py "$fake_url" "$app_id" "$api_key" \
    "http://127.0.0.1:$port/products-$rows.csv" products > "$work/py.json" 2> "$work/py-time.txt" \
    || { cat "$work/py-time.txt" >&2; exit 1; }
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["records"], s["seconds"], end=" ")' "$work/py.json"
  rss_mb "$work/py-time.txt"; echo
}
first=1
for rows in "${sizes[@]}"; do
  python3 benches/gen_products.py "$rows" > "$work/products-$rows.csv"
  mb=$(python3 -c "import os; print(round(os.path.getsize('$work/products-$rows.csv')/1e6, 1))")
  start_fake
  cat > "$work/task-$rows.json" <<JSON
{"action": "replace",
 "source": {"type": "csv", "input": {"url": "http://127.0.0.1:$port/products-$rows.csv", "uniqueIDColumn": "id",
            "mapping": {"price": "float", "in_stock": "boolean", "stock": "integer", "tags": "json"}}},
 "destination": {"type": "search", "input": {"indexName": "products"},
                 "authentication": {"type": "algolia", "input": {"appID": "$app_id", "apiKey": "$api_key"}}}}
JSON
  run_task > /dev/null  # warm-up: the fake's memory, the page cache
  read -r pushed seconds rss < <(median_of run_task)
  [ "$pushed" = "$rows" ] || { echo "run-task pushed $pushed of $rows records" >&2; cat "$work/summary.json" >&2; exit 1; }
  ours=$(python3 -c "print(int($pushed/$seconds))")
  printf '%-10s %-9s %-8s %-12s %-12s %s\n' "$pushed" "$mb" "$seconds" "$ours" "$rss" "run-task (median of $runs)"
  if [ "$first" = 1 ] && [ "${PYTHON_COMPARE:-1}" = 1 ]; then
    read -r py_records py_seconds py_rss < <(median_of run_python)
    theirs=$(python3 -c "print(int($py_records/$py_seconds))")
    printf '%-10s %-9s %-8s %-12s %-12s %s\n' "$py_records" "$mb" "$py_seconds" "$theirs" "$py_rss" "python algoliasearch $(python3 -c 'import algoliasearch; print(algoliasearch.__version__)') (median of $runs)"
    echo "ratio: run-task is $(python3 -c "print(round($ours/$theirs, 1))")x faster"
  fi
  stop_fake
  first=0
  rm -f "$work/products-$rows.csv"
done
