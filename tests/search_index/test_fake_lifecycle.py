"""Create, migrate and roll back versioned indices on the fake OpenSearch, with a writer using
the worker's own client running during the migration (docs/search.md, "Changing the mapping")."""

from __future__ import annotations

import json
import threading

from ingest_worker.index import DocumentWrite, OpenSearch

from harness.fake_opensearch import FakeOpenSearch


def call(fake, method, path, body=None):
    return fake.dispatch(method, path, {"Content-Type": "application/json"},
                         json.dumps(body).encode() if body is not None else b"")


def test_bootstrap_is_idempotent_and_never_moves_aliases_after_a_migration():
    fake = FakeOpenSearch()
    fake.bootstrap("file-index", shards=2, replicas=1)
    assert fake.index_meta["file-index-v1"]["settings"]["number_of_shards"] == 2
    assert "name" in fake.index_meta["file-index-v1"]["mappings"]["properties"]
    call(fake, "PUT", "/file-index-v2")
    call(fake, "POST", "/_aliases", {"actions": [
        {"remove": {"index": "file-index-v1", "alias": "file-index"}},
        {"add": {"index": "file-index-v2", "alias": "file-index"}}]})
    fake.bootstrap("file-index")  # a redeploy
    assert set(fake.aliases["file-index"]) == {"file-index-v2"}


def test_fake_answers_alias_errors_like_opensearch():
    fake = FakeOpenSearch()
    fake.bootstrap("file-index")
    status, body = call(fake, "GET", "/_alias/nope")
    assert (status, body) == (404, {"error": "alias [nope] missing", "status": 404})
    status, body = call(fake, "PUT", "/file-index")
    assert status == 400 and body["error"]["type"] == "invalid_index_name_exception"
    status, body = call(fake, "POST", "/_aliases", {"actions": [
        {"remove": {"index": "file-index-v1", "alias": "other"}}]})
    assert status == 404 and body["error"]["type"] == "aliases_not_found_exception"
    call(fake, "PUT", "/file-index-v2")
    status, body = call(fake, "POST", "/_aliases", {"actions": [
        {"add": {"index": "file-index-v2", "alias": "file-index-write", "is_write_index": True}}]})
    assert status == 400 and body["error"]["type"] == "illegal_state_exception"
    assert set(fake.aliases["file-index-write"]) == {"file-index-v1"}  # all or nothing
    status, body = call(fake, "DELETE", "/file-index")
    assert status == 400 and "matches an alias" in body["error"]["reason"]


def test_migration_with_uploads_running_loses_nothing_and_rolls_back():
    fake = FakeOpenSearch().start()
    try:
        fake.bootstrap("file-index")
        client = OpenSearch(fake.url, "file-index-write", "none", "eu-west-1")
        client.bulk_write([DocumentWrite(f"old-{i}", {"key": f"old-{i}", "etag": "1"}, None)
                           for i in range(200)])
        stop = threading.Event()
        written: list[str] = []

        def uploads() -> None:  # the workers keep writing through the write alias
            n = 0
            while not stop.is_set() or n < 50:
                doc = f"new-{n}"
                (item,) = client.bulk_write([DocumentWrite(doc, {"key": doc, "etag": "2"}, None)])
                assert item["status"] == 201, item
                written.append(doc)
                n += 1

        writer = threading.Thread(target=uploads)
        writer.start()
        assert call(fake, "PUT", "/file-index-v2")[0] == 200
        assert call(fake, "POST", "/_aliases", {"actions": [
            {"remove": {"index": "file-index-v1", "alias": "file-index-write"}},
            {"add": {"index": "file-index-v2", "alias": "file-index-write",
                     "is_write_index": True}}]})[0] == 200
        status, result = call(fake, "POST", "/_reindex", {
            "source": {"index": "file-index-v1"},
            "dest": {"index": "file-index-v2", "op_type": "create"}, "conflicts": "proceed"})
        stop.set()
        writer.join()
        assert status == 200 and result["failures"] == []
        old_count = call(fake, "GET", "/file-index-v1/_count")[1]["count"]
        new_count = call(fake, "GET", "/file-index-v2/_count")[1]["count"]
        assert new_count >= old_count
        assert call(fake, "POST", "/_aliases", {"actions": [
            {"remove": {"index": "file-index-v1", "alias": "file-index"}},
            {"add": {"index": "file-index-v2", "alias": "file-index"}}]})[0] == 200
        searched = set(fake.docs("file-index"))
        expected = {f"old-{i}" for i in range(200)} | set(written)
        assert searched == expected, sorted(expected - searched)[:5]
        # Rollback: aliases back to v1, then what was written to v2 meanwhile copied back.
        assert call(fake, "POST", "/_aliases", {"actions": [
            {"remove": {"index": "file-index-v2", "alias": "file-index"}},
            {"remove": {"index": "file-index-v2", "alias": "file-index-write"}},
            {"add": {"index": "file-index-v1", "alias": "file-index"}},
            {"add": {"index": "file-index-v1", "alias": "file-index-write",
                     "is_write_index": True}}]})[0] == 200
        status, _ = call(fake, "POST", "/_reindex", {
            "source": {"index": "file-index-v2", "query": {"prefix": {"key": "new-"}}},
            "dest": {"index": "file-index-v1"}})
        assert status == 200 and set(fake.docs("file-index")) == expected
    finally:
        fake.stop()


def test_fake_delete_by_query_answers_like_opensearch():
    """The subset `ops index purge-tombstones` uses: a query over an index or alias, as a task
    (wait_for_completion=false) or synchronously, and OpenSearch's error for a missing index."""
    fake = FakeOpenSearch()
    fake.bootstrap("file-index")
    call(fake, "PUT", "/file-index-v2")
    lines = "".join(json.dumps(line) + "\n" for line in (
        {"index": {"_index": "file-index-v1", "_id": "gone"}}, {"deleted": True, "key": "a"},
        {"index": {"_index": "file-index-v1", "_id": "kept"}}, {"key": "b"},
        {"index": {"_index": "file-index-v2", "_id": "gone"}}, {"deleted": True, "key": "a"}))
    status, _ = fake.dispatch("POST", "/_bulk", {"Content-Type": "application/x-ndjson"},
                              lines.encode())
    assert status == 200
    query = {"query": {"term": {"deleted": True}}}
    status, answer = call(fake, "POST", "/file-index-v1,file-index-v2/_delete_by_query"
                                        "?conflicts=proceed&wait_for_completion=false", query)
    assert status == 200 and set(answer) == {"task"}
    status, task = call(fake, "GET", f"/_tasks/{answer['task']}")
    assert status == 200 and task["completed"] is True
    assert task["task"]["action"] == "indices:data/write/delete/byquery"
    assert (task["response"]["deleted"], task["response"]["failures"]) == (2, [])
    assert set(fake.indices["file-index-v1"]) == {"kept"} and not fake.indices["file-index-v2"]
    status, answer = call(fake, "POST", "/file-index/_delete_by_query", query)  # synchronous
    assert status == 200 and (answer["total"], answer["deleted"]) == (0, 0)
    status, answer = call(fake, "POST", "/nope/_delete_by_query", query)
    assert status == 404 and answer["error"]["type"] == "index_not_found_exception"
    status, answer = call(fake, "POST", "/file-index/_delete_by_query", {})
    assert status == 400 and answer["error"]["reason"] == "Validation Failed: 1: query is missing;"
