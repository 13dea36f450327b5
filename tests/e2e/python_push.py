"""Drives the Push connector of `ingestion serve` with Algolia's official Python client (4.x):
the three `*_with_transformation` helpers and `push_task`, exactly as an application calls them.
The Search calls go to the fake Algolia; the pushes go to us.

Usage: python_push.py INGESTION_PORT FAKE_PORT APP_ID API_KEY. The caller checks the fake's
indices afterwards; this script checks what the client itself sees.
"""
import sys

from algoliasearch.http.exceptions import RequestException
from algoliasearch.http.hosts import Host, HostsCollection
from algoliasearch.ingestion.client import IngestionClientSync
from algoliasearch.ingestion.config import IngestionConfig
from algoliasearch.search.client import SearchClientSync
from algoliasearch.search.config import SearchConfig, TransformationOptions

ours, fake, app_id, api_key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
local = lambda port: HostsCollection([Host(url="127.0.0.1", port=port, scheme="http")])

ingestion_config = IngestionConfig(app_id, api_key, "us")
ingestion_config.hosts = local(ours)
ingestion = IngestionClientSync.create_with_config(config=ingestion_config)

search_config = SearchConfig(app_id, api_key)
search_config.hosts = local(fake)
search_config.transformation_options = TransformationOptions("us", hosts=local(ours))
search = SearchClientSync.create_with_config(config=search_config)

# The push pipelines: ordinary resources, nothing implicit.
auth = ingestion.create_authentication(
    {"type": "algolia", "name": "algolia", "input": {"appID": app_id, "apiKey": api_key}}
)
tasks = {}
for index in ["products", "replaced"]:
    source = ingestion.create_source({"type": "push", "name": f"push {index}"})
    destination = ingestion.create_destination(
        {"type": "search", "name": index, "input": {"indexName": index},
         "authenticationID": auth.authentication_id}
    )
    tasks[index] = ingestion.create_task(
        {"sourceID": source.source_id, "destinationID": destination.destination_id,
         "action": "replace"}
    ).task_id

# A pipeline through a transformation (docs/api.md D5): a computed field from a secret, a split,
# a drop.
vault = ingestion.create_authentication(
    {"type": "secrets", "name": "vault", "input": {"SUFFIX": "on sale"}}
)
shaping = ingestion.create_transformation(
    {"name": "shape", "type": "code", "authenticationIDs": [vault.authentication_id],
     "input": {"code": """
async function transform(record, helper) {
  if (record.hidden) return null;
  record.label = record.name + " " + helper.secrets.get("SUFFIX");
  if (record.objectID === "bundle") {
    return [record, { objectID: "bundle-part", of: "bundle" }];
  }
  return record;
}"""}}
)
source = ingestion.create_source({"type": "push", "name": "push shaped"})
destination = ingestion.create_destination(
    {"type": "search", "name": "shaped", "input": {"indexName": "shaped"},
     "authenticationID": auth.authentication_id,
     "transformationIDs": [shaping.transformation_id]}
)
ingestion.create_task(
    {"sourceID": source.source_id, "destinationID": destination.destination_id, "action": "replace"}
)
shaped = search.save_objects_with_transformation(
    "shaped",
    [{"objectID": "a", "name": "A"}, {"objectID": "gone", "name": "G", "hidden": True},
     {"objectID": "bundle", "name": "B"}],
    wait_for_tasks=True,
)
assert len(shaped) == 1 and shaped[0].event_id, shaped

records = [{"objectID": str(i), "name": f"product {i}", "price": i} for i in range(10_000)]
responses = search.save_objects_with_transformation("products", records, wait_for_tasks=True)
assert len(responses) == 10 and all(r.event_id for r in responses), responses

search.partial_update_objects_with_transformation(
    "products", [{"objectID": "1", "price": 99}, {"objectID": "absent", "price": 1}],
    create_if_not_exists=False, wait_for_tasks=True,
)
search.partial_update_objects_with_transformation(
    "products", [{"objectID": "new-1", "price": 5}], create_if_not_exists=True,
    wait_for_tasks=True,
)

replaced = [{"objectID": f"r{i}", "v": i} for i in range(500)]
search.replace_all_objects_with_transformation("replaced", replaced, batch_size=100)

watched = ingestion.push_task(
    tasks["products"], {"action": "addObject", "records": [{"objectID": "w1", "v": 1}]},
    watch=True,
)
assert watched.events and watched.events[0].status == "succeeded", watched
try:
    ingestion.push_task(
        tasks["products"],
        {"action": "addObject", "records": [{"objectID": "huge", "blob": "x" * 200_000}]},
        watch=True,
    )
    raise SystemExit("a refused record did not fail the watched push")
except RequestException as error:
    assert error.status_code == 400, error
    assert "huge" in str(error) or "too big" in str(error).lower(), error
print("python push: ok")
