"""Drives `ingestion serve` with Algolia's official Python client (algoliasearch 4.x).

Usage: python_client.py PORT APP_ID API_KEY. Exits non-zero when a call fails or a response
does not parse into the client's models (`docs/api.md` C19).
"""
import sys

from algoliasearch.http.hosts import Host, HostsCollection
from algoliasearch.ingestion.client import IngestionClientSync
from algoliasearch.ingestion.config import IngestionConfig

port, app_id, api_key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
config = IngestionConfig(app_id, api_key, "us")
config.hosts = HostsCollection([Host(url="127.0.0.1", port=port, scheme="http")])
c = IngestionClientSync.create_with_config(config=config)

algolia = c.create_authentication(
    {"type": "algolia", "name": "a", "input": {"appID": "X", "apiKey": "py-secret"}}
)
oauth = c.create_authentication(
    {"type": "oauth", "name": "o", "platform": "commercetools",
     "input": {"url": "http://t", "client_id": "c", "client_secret": "s"}}
)
got = c.get_authentication(algolia.authentication_id)
assert got.name == "a"
assert "py-secret" not in got.to_json()
assert len(c.list_authentications().authentications) == 2
dest = c.create_destination(
    {"type": "search", "name": "d", "input": {"indexPrefix": "prefix_"},
     "authenticationID": algolia.authentication_id}
)
assert c.get_destination(dest.destination_id).input.index_name == "prefix_"
c.list_destinations()
src = c.create_source(
    {"type": "csv", "name": "s",
     "input": {"url": "https://x/a.csv", "uniqueIDColumn": "id", "mapping": {"p": "float"}}}
)
c.create_source(
    {"type": "commercetools", "name": "ct", "authenticationID": oauth.authentication_id,
     "input": {"url": "http://ct", "projectKey": "p", "locales": ["en"], "storeKeys": ["s"]}}
)
c.get_source(src.source_id)
assert c.list_sources().pagination.nb_items == 2
task = c.create_task_v1(
    {"sourceID": src.source_id, "destinationID": dest.destination_id,
     "trigger": {"type": "schedule", "cron": "*/5 * * * *"}, "action": "save"}
)
assert c.get_task_v1(task.task_id).action == "save"
assert len(c.list_tasks_v1().tasks) == 1
assert len(c.search_tasks_v1({"taskIDs": [task.task_id]})) == 1
c.update_task_v1(task.task_id, {"enabled": False})
c.enable_task_v1(task.task_id)
c.disable_task_v1(task.task_id)
run = c.run_task_v1(task.task_id)
assert c.get_run(run.run_id).status == "created"
assert len(c.list_runs().runs) == 1
assert c.list_events(run.run_id).events == []
assert len(c.search_sources({"sourceIDs": [src.source_id]})) == 1
assert len(c.search_destinations({"destinationIDs": [dest.destination_id]})) == 1
assert len(c.search_authentications({"authenticationIDs": [algolia.authentication_id]})) == 1
assert c.update_source(src.source_id, {"name": "n2"}).name == "n2"
assert c.update_destination(dest.destination_id, {"name": "n2"}).name == "n2"
assert c.update_authentication(algolia.authentication_id, {"name": "n2"}).name == "n2"
c.delete_task_v1(task.task_id)
c.delete_source(src.source_id)
c.delete_destination(dest.destination_id)
try:
    c.get_task_v1(task.task_id)
    raise SystemExit("a deleted task was found")
except SystemExit:
    raise
except Exception as error:  # the client's RequestException for the 404
    assert "not found" in str(error), error
print("python client: ok")
