"""The Push connector under load (`benches/push_connector.sh` runs it).

Usage: python_push_bench.py MODE INGESTION_URL FAKE_URL APP_ID API_KEY RECORDS
  through  the official client's save_objects_with_transformation (chunks of 1,000,
           wait_for_tasks=True): the pushes go to `ingestion serve`, which applies them into the fake
  direct   the same client's save_objects (chunks of 1,000, wait_for_tasks=True) into the fake
  raw      8 threads POST pre-encoded 1,000-record bodies to /2/tasks/{id}/push, then wait until
           every push's event exists (accepted and applied)
Prints `seconds` (and for raw, the time to accept and the time until all were applied).
"""
import json
import sys
import threading
import time
import urllib.request
from urllib.parse import urlparse

from algoliasearch.http.hosts import Host, HostsCollection
from algoliasearch.ingestion.client import IngestionClientSync
from algoliasearch.ingestion.config import IngestionConfig
from algoliasearch.search.client import SearchClientSync
from algoliasearch.search.config import SearchConfig, TransformationOptions

mode, ours, fake, app_id, api_key, count = sys.argv[1:7]
count = int(count)


def hosts(url):
    parsed = urlparse(url)
    return HostsCollection([Host(url=parsed.hostname, port=parsed.port, scheme="http")])


def ingestion():
    config = IngestionConfig(app_id, api_key, "us")
    config.hosts = hosts(ours)
    return IngestionClientSync.create_with_config(config=config)


def push_task(client, index):
    auth = client.create_authentication(
        {"type": "algolia", "name": "a", "input": {"appID": app_id, "apiKey": api_key}}
    )
    source = client.create_source({"type": "push", "name": f"push {index}"})
    destination = client.create_destination(
        {"type": "search", "name": index, "input": {"indexName": index},
         "authenticationID": auth.authentication_id}
    )
    return client.create_task(
        {"sourceID": source.source_id, "destinationID": destination.destination_id,
         "action": "replace"}
    ).task_id


records = [
    {"objectID": str(i), "name": f"product {i}", "brand": f"brand {i % 97}",
     "price": i % 1000 + 0.5, "tags": ["a", "b"], "stock": i % 13}
    for i in range(count)
]

if mode in ("through", "direct"):
    config = SearchConfig(app_id, api_key)
    config.hosts = hosts(fake)
    if mode == "through":
        push_task(ingestion(), "through")
        config.transformation_options = TransformationOptions("us", hosts=hosts(ours))
    search = SearchClientSync.create_with_config(config=config)
    started = time.perf_counter()
    if mode == "through":
        search.save_objects_with_transformation("through", records, wait_for_tasks=True)
    else:
        search.save_objects("direct", records, wait_for_tasks=True)
    print(f"{time.perf_counter() - started:.3f}")
elif mode == "raw":
    client = ingestion()
    task = push_task(client, "raw")
    bodies = [
        json.dumps({"action": "addObject", "records": records[i:i + 1000]}).encode()
        for i in range(0, count, 1000)
    ]
    accepted = []
    lock = threading.Lock()

    def worker(chunk):
        for body in chunk:
            request = urllib.request.Request(
                f"{ours}/2/tasks/{task}/push", data=body, method="POST",
                headers={"content-type": "application/json", "x-algolia-application-id": app_id,
                         "x-algolia-api-key": api_key})
            with urllib.request.urlopen(request) as response:
                answer = json.load(response)
            with lock:
                accepted.append((answer["runID"], answer["eventID"]))

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(bodies[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted_after = time.perf_counter() - started
    # Application is in arrival order: poll the events newest first over one kept-alive
    # connection, so the wait ends when the last push is applied, not after 200 new connections.
    import http.client
    parsed = urlparse(ours)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port)
    headers = {"x-algolia-application-id": app_id, "x-algolia-api-key": api_key}
    for run_id, event_id in reversed(accepted):
        while True:
            connection.request("GET", f"/1/runs/{run_id}/events/{event_id}", headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                break
            if response.status != 404:
                raise RuntimeError(f"event {event_id}: {response.status}")
            time.sleep(0.005)
    print(f"{accepted_after:.3f} {time.perf_counter() - started:.3f}")
