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
