#!/usr/bin/env bash
# End-to-end benchmark: `run-task --dry-run` on generated CSV served over HTTP from 127.0.0.1.
# Prints rows, input size, wall time, records/s and peak RSS for each size.
#
#   bash benches/e2e_dry_run.sh            # 200,000 and 2,000,000 rows
#   bash benches/e2e_dry_run.sh 50000      # custom sizes
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(200000 2000000)

cargo build --release --bin run-task >&2
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
server=$!
sleep 1

printf '%-10s %-9s %-8s %-12s %-10s\n' rows MB seconds records/s peak_RSS_MB
for rows in "${sizes[@]}"; do
  python3 benches/gen_products.py "$rows" > "$work/products-$rows.csv"
  cat > "$work/task-$rows.json" <<JSON
{"action": "replace",
 "source": {"type": "csv", "input": {"url": "http://127.0.0.1:$port/products-$rows.csv", "uniqueIDColumn": "id",
            "mapping": {"price": "float", "in_stock": "boolean", "stock": "integer", "tags": "json"}}},
 "destination": {"type": "search", "input": {"indexName": "products"}}}
JSON
  /usr/bin/time -v target/release/run-task --task-file "$work/task-$rows.json" --dry-run "$work/out.jsonl" \
    > "$work/summary.json" 2> "$work/time.txt"
  seconds=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["durationMs"]/1000)' "$work/summary.json")
  read_records=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["recordsRead"])' "$work/summary.json")
  rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  mb=$(python3 -c "import os; print(round(os.path.getsize('$work/products-$rows.csv')/1e6, 1))")
  printf '%-10s %-9s %-8s %-12s %-10s\n' "$read_records" "$mb" "$seconds" \
    "$(python3 -c "print(int($read_records/$seconds))")" "$(python3 -c "print(round($rss_kb/1024, 1))")"
  rm -f "$work/products-$rows.csv" "$work/out.jsonl"
done
