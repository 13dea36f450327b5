"""Drives `ingestion serve` with Algolia's official Python client (algoliasearch 4.x).

Usage: python_client.py PORT APP_ID API_KEY. Exits non-zero when a call fails or a response
does not parse into the client's models (`docs/api.md` C19).
"""
import http.server
import json
import os
import sys
import tempfile
import threading
import warnings

from algoliasearch.http.hosts import Host, HostsCollection
from algoliasearch.ingestion.client import IngestionClientSync
from algoliasearch.ingestion.config import IngestionConfig

port, app_id, api_key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
config = IngestionConfig(app_id, api_key, "us")
config.hosts = HostsCollection([Host(url="127.0.0.1", port=port, scheme="http")])
c = IngestionClientSync.create_with_config(config=config)

# A local file for source validation (the server's URL policy allows this machine).
files = tempfile.mkdtemp()
with open(os.path.join(files, "products.json"), "w") as f:
    json.dump([{"id": "a1", "price": 1}, {"id": "a2", "price": 2}, {"id": "a3", "price": 3}], f)
handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=files, **k)
file_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=file_server.serve_forever, daemon=True).start()
files_url = f"http://127.0.0.1:{file_server.server_address[1]}"

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
# Today's methods (docs/api.md D1-D3): the ordinary, unsuffixed ones, without a deprecation
# warning, on the same tasks as the v1 methods above.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    insights = c.create_authentication(
        {"type": "algoliaInsights", "name": "events", "input": {"appID": "X", "apiKey": "k"}}
    )
    vault = c.create_authentication(
        {"type": "secrets", "name": "vault", "input": {"TOKEN": "py-vault-secret"}}
    )
    assert "py-vault-secret" not in c.get_authentication(vault.authentication_id).to_json()
    c.create_authentication({"type": "oauth", "name": "o2", "input": {"url": "http://t"}})
    pushed = c.create_source({"type": "push", "name": "pushed"})
    assert c.get_source(pushed.source_id).type == "push"
    trimmed = c.create_destination(
        {"type": "search", "name": "t", "authenticationID": algolia.authentication_id,
         "input": {"indexName": "products", "recordType": "product",
                   "attributesToExclude": ["cost", "meta.*"]}}
    )
    assert c.get_destination(trimmed.destination_id).input.attributes_to_exclude == ["cost", "meta.*"]
    src2 = c.create_source(
        {"type": "json", "name": "j", "input": {"url": "https://x/a.json", "uniqueIDColumn": "id"}}
    )
    created = c.create_task(
        {"sourceID": src2.source_id, "destinationID": trimmed.destination_id, "action": "partial",
         "cron": "0 3 * * *", "notifications": {"email": {"enabled": True}},
         "policies": {"criticalThreshold": 3}, "cursor": "c1"}
    )
    t = c.get_task(created.task_id)
    assert t.cron == "0 3 * * *" and t.action == "partial" and t.policies.critical_threshold == 3
    assert t.notifications.email.enabled is True and t.cursor == "c1" and t.next_run
    listed = c.list_tasks(action=["partial"], trigger_type=["schedule"], source_type=["json"])
    assert [x.task_id for x in listed.tasks] == [created.task_id], listed
    assert len(c.list_tasks(with_email_notifications=True).tasks) == 1
    assert len(c.search_tasks({"taskIDs": [created.task_id]})) == 1
    c.update_task(created.task_id, {"subscriptionAction": "partialNoCreate", "enabled": False})
    assert c.get_task(created.task_id).subscription_action == "partialNoCreate"
    c.replace_task(created.task_id, {"destinationID": trimmed.destination_id, "action": "append"})
    replaced = c.get_task(created.task_id)
    assert replaced.action == "append" and replaced.cron is None and replaced.policies is None
    c.enable_task(created.task_id)
    ran = c.run_source(
        src2.source_id,
        {"indexToInclude": ["products"], "entityIDs": ["a1"], "entityType": "product"},
    )
    assert list(ran.task_with_run_id.keys()) == [created.task_id], ran
    try:
        c.trigger_docker_source_discover(src2.source_id)
        raise SystemExit("discover answered 200")
    except SystemExit:
        raise
    except Exception as error:
        assert "only docker sources" in str(error), error
    # Source validation (D6): a sample of the real source, as a finished `validate` run.
    sample = c.validate_source(
        {"type": "json", "name": "v",
         "input": {"url": f"{files_url}/products.json", "uniqueIDColumn": "id"}}
    )
    assert [r["id"] for r in sample.data] == ["a1", "a2", "a3"], sample
    assert c.get_run(sample.run_id).type == "validate"
    before = c.validate_source_before_update(
        src2.source_id, {"input": {"url": f"{files_url}/products.json", "uniqueIDColumn": "id"}}
    )
    assert len(before.data) == 3 and before.message.startswith("read 3 records"), before
    assert c.get_source(src2.source_id).input.actual_instance.url == "https://x/a.json"
    try:
        c.validate_source(
            {"type": "json", "name": "v", "input": {"url": f"{files_url}/missing.json"}}
        )
        raise SystemExit("validating a missing file answered 200")
    except SystemExit:
        raise
    except Exception as error:
        assert "cannot read" in str(error) and "404" in str(error), error
    c.disable_task(created.task_id)
    run2 = c.run_task(created.task_id, {"runMetadata": {"by": "python"}})
    assert c.get_run(run2.run_id).type == "update"
    updates = c.list_runs(type=["update"]).runs
    assert len(c.list_runs(type=["validate"]).runs) == 3
    assert run2.run_id in [r.run_id for r in updates] and all(r.type == "update" for r in updates)
    c.delete_task(created.task_id)
    try:
        c.get_task(created.task_id)
        raise SystemExit("a deleted v2 task was found")
    except SystemExit:
        raise
    except Exception as error:
        assert "not found" in str(error), error
deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
assert not deprecations, [str(w.message) for w in deprecations]

# One store, two views: a v1 task on the v2 methods and back.
v1 = c.create_task_v1(
    {"sourceID": src2.source_id, "destinationID": trimmed.destination_id,
     "trigger": {"type": "subscription"}, "action": "save"}
)
seen = c.get_task(v1.task_id)
assert seen.action == "save" and seen.cron is None
c.update_task(v1.task_id, {"cron": "*/10 * * * *"})
assert c.get_task_v1(v1.task_id).trigger.actual_instance.type == "schedule"
c.run_task(v1.task_id)
c.replace_task(v1.task_id, {"destinationID": trimmed.destination_id, "action": "partial"})
assert c.get_task_v1(v1.task_id).action == "partial"
# Transformations (D5): the resource, its references, and trying it with inline secrets.
code = "function transform(record, helper) {\n  record.seen = helper.secrets.get('K') ?? 'none';\n  return record;\n}"
vault = c.create_authentication({"type": "secrets", "name": "vault", "input": {"K": "py-secret"}})
made = c.create_transformation(
    {"name": "tr", "type": "code", "input": {"code": code},
     "authenticationIDs": [vault.authentication_id]}
)
got = c.get_transformation(made.transformation_id)
assert got.code == code and got.type == "code", got
assert got.authentication_ids == [vault.authentication_id], got
steps = c.create_transformation(
    {"name": "steps", "type": "noCode",
     "input": {"steps": [{"type": "removeAttribute", "attribute": "cost"}]}}
)
assert [t.name for t in c.list_transformations(type="noCode").transformations] == ["steps"]
assert len(c.search_transformations({"transformationIDs": [made.transformation_id, "x"]})) == 1
c.update_transformation(steps.transformation_id, {"name": "steps2", "input": {"steps": []}})
assert c.get_transformation(steps.transformation_id).name == "steps2"
tried = c.try_transformation(
    {"sampleRecord": {"objectID": "1"}, "input": {"code": code},
     "authentications": [{"type": "secrets", "name": "inline", "input": {"K": "inline"}}]}
)
assert [json.loads(p) for p in tried.payloads] == [{"objectID": "1", "seen": "inline"}], tried
assert tried.error is None, tried
failed = c.try_transformation_before_update(
    made.transformation_id,
    {"sampleRecord": {"objectID": "1"},
     "input": {"code": "function transform(r) {\n  throw new Error('nope');\n}"}},
)
assert failed.payloads == [] and failed.error.code == 422, failed
assert failed.error.message == "Error: nope (line 2)", failed
try:
    c.create_transformation({"name": "bad", "code": "foo"})
    raise SystemExit("a transformation without `transform` was created")
except SystemExit:
    raise
except Exception as error:
    assert "input.code" in str(error), error
applied = c.create_destination(
    {"type": "search", "name": "dt", "input": {"indexName": "t"},
     "transformationIDs": [made.transformation_id]}
)
assert c.get_destination(applied.destination_id).transformation_ids == [made.transformation_id]
using = c.list_destinations(transformation_id=made.transformation_id).destinations
assert [d.destination_id for d in using] == [applied.destination_id], using
try:
    c.delete_transformation(made.transformation_id)
    raise SystemExit("a transformation in use was deleted")
except SystemExit:
    raise
except Exception as error:
    assert "is used by destination" in str(error), error
c.update_destination(applied.destination_id, {"transformationIDs": []})
c.delete_transformation(made.transformation_id)
c.delete_authentication(vault.authentication_id)
print("python client: ok")
