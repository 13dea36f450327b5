#!/usr/bin/env python3
"""What users write today: the official Algolia Python client (`pip install algoliasearch`, 4.x)
reading a CSV with csv.DictReader and calling replace_all_objects, typed like our task's mapping.

Usage: python_replace_all.py ALGOLIA_URL APP_ID API_KEY CSV_URL INDEX
Prints one JSON line: {"records": N, "seconds": S}."""
import csv
import io
import json
import sys
import time
import urllib.parse
import urllib.request

from algoliasearch.http.hosts import Host, HostsCollection
from algoliasearch.search.client import SearchClientSync
from algoliasearch.search.config import SearchConfig


def rows(csv_url):
    with urllib.request.urlopen(csv_url) as response:
        for row in csv.DictReader(io.TextIOWrapper(response, encoding="utf-8", newline="")):
            row["objectID"] = row["id"]
            row["price"] = float(row["price"])
            row["in_stock"] = row["in_stock"] == "true"
            row["stock"] = int(row["stock"])
            row["tags"] = json.loads(row["tags"])
            yield row


def main():
    algolia_url, app_id, api_key, csv_url, index = sys.argv[1:6]
    parsed = urllib.parse.urlparse(algolia_url)
    config = SearchConfig(app_id, api_key)
    config.hosts = HostsCollection([Host(url=parsed.hostname, scheme=parsed.scheme, port=parsed.port)])
    client = SearchClientSync.create_with_config(config)
    started = time.monotonic()
    count = 0

    def counted():
        nonlocal count
        for row in rows(csv_url):
            count += 1
            yield row

    client.replace_all_objects(index, counted(), batch_size=1000)
    print(json.dumps({"records": count, "seconds": round(time.monotonic() - started, 3)}))


if __name__ == "__main__":
    main()
