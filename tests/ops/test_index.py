"""`ops index status|init|migrate|rollback` and `ops search` against the fake OpenSearch, with
uploads written through the worker's own client while the migration runs."""

from __future__ import annotations

import datetime
import io
import json
import threading

import pytest
from ingest_worker.index import DocumentWrite, OpenSearch

from harness.worker_process import REGION
from ops.cli import main
from tests.ops.conftest import Terminal

BASE = "file-index"


@pytest.fixture
def index_ops(deployed, search, moto):
    """Run `python -m ops <words...> --env dev` against the environment and the fake."""
    def run(*words: str, typed: str | None = None, tty: bool = True) -> tuple[int, str]:
        out = io.StringIO()
        stdin = (Terminal if tty else io.StringIO)(typed or "")
        code = main([*words, "--env", "dev", "--endpoint-url", moto, "--region", REGION,
                     "--no-sign"], stdin=stdin, stdout=out)
        return code, out.getvalue()
    return run


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def writer(search) -> OpenSearch:
    return OpenSearch(search.url, f"{BASE}-write", "none", REGION)


def put(client: OpenSearch, doc_id: str, source: dict) -> None:
    """Write as the worker does: create, or replace the copy it read (409: read again)."""
    for _ in range(5):
        stored = client.mget([doc_id], ["etag"]).get(doc_id)
        (item,) = client.bulk_write([DocumentWrite(doc_id, dict(source, indexed_at=now()),
                                                   stored)])
        if item["status"] in (200, 201):
            return
        assert item["status"] == 409, item
    raise AssertionError(f"{doc_id}: five conflicts in a row")


def aliases(search) -> dict[str, set[str]]:
    return {alias: set(members) for alias, members in search.aliases.items()}


def test_status_shows_versions_aliases_counts_and_mapping_versions(index_ops, search):
    client = writer(search)
    for i in range(3):
        put(client, f"doc-{i}", {"key": f"raw-files/{i}.txt", "etag": "1"})
    put(client, "gone", {"key": "raw-files/gone.txt", "deleted": True})
    code, out = index_ops("index", "status")
    assert code == 0, out
    assert "read alias  file-index -> file-index-v1" in out
    assert "write alias file-index-write -> file-index-v1" in out
    (row,) = [line.split() for line in out.splitlines() if line.strip().startswith("file-index-v1")]
    assert row[1:4] == ["4", "1", "1"] and row[-2:] == ["read,", "write"], row
    assert "FAULT" not in out


def test_migrate_with_uploads_running_loses_nothing_and_rolls_back(index_ops, search):
    client = writer(search)
    old = {f"old-{i}": {"key": f"raw-files/old-{i}.txt", "etag": "1"} for i in range(150)}
    old["removed"] = {"key": "raw-files/removed.txt", "etag": "1"}
    for doc_id, source in old.items():
        put(client, doc_id, source)
    stop = threading.Event()
    written: dict[str, dict] = {}
    failures: list[BaseException] = []

    def uploads() -> None:  # the workers keep writing through the write alias
        n = 0
        try:
            while not stop.is_set() or n < 60:
                doc_id = f"new-{n}"
                written[doc_id] = {"key": f"raw-files/new-{n}.txt", "etag": "2"}
                put(client, doc_id, written[doc_id])
                if n % 3 == 0:  # a newer version of an old file, written mid-migration
                    written[f"old-{n}"] = {"key": f"raw-files/old-{n}.txt", "etag": "2"}
                    put(client, f"old-{n}", written[f"old-{n}"])
                if n == 10:  # a delete (tombstone) mid-migration: never copied back alive
                    written["removed"] = {"key": "raw-files/removed.txt", "deleted": True}
                    put(client, "removed", written["removed"])
                n += 1
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            failures.append(error)

    thread = threading.Thread(target=uploads)
    thread.start()
    try:
        code, out = index_ops("index", "migrate", "--settle", "0", typed="dev\n")
    finally:
        stop.set()
        thread.join()
    assert not failures, failures
    assert code == 0, out
    assert aliases(search)[BASE] == {"file-index-v2"}
    assert aliases(search)[f"{BASE}-write"] == {"file-index-v2"}
    assert "file-index-v1" in search.indices  # kept for rollback
    during = set(written) - set(search.indices["file-index-v1"])
    assert during, "no upload landed in v2 while the migration ran: the test proves nothing"
    expected = {**old, **written}
    searched = search.docs(BASE)
    assert set(searched) == set(expected)
    for doc_id, source in expected.items():  # the newest copy of each file, none older
        assert {k: searched[doc_id]["source"].get(k) for k in source} == source, doc_id
    migrated = search.index_meta["file-index-v2"]["mappings"]
    assert migrated["_meta"]["migrated_from"] == "file-index-v1"
    assert "name" in migrated["properties"]  # created from the repository's template

    # Rollback while uploads continue: both aliases back on v1, with what v2 received.
    stop.clear()
    written.clear()
    thread = threading.Thread(target=uploads)
    thread.start()
    try:
        code, out = index_ops("index", "rollback", "--settle", "0", "--yes")
    finally:
        stop.set()
        thread.join()
    assert not failures, failures
    assert code == 0, out
    assert aliases(search)[BASE] == {"file-index-v1"}
    assert aliases(search)[f"{BASE}-write"] == {"file-index-v1"}
    expected.update(written)
    searched = search.docs(BASE)
    assert set(expected) <= set(searched)
    for doc_id, source in expected.items():
        assert {k: searched[doc_id]["source"].get(k) for k in source} == source, doc_id
    assert "ops reconcile" in out


def test_migrate_refuses_without_confirmation_and_changes_nothing(index_ops, search):
    code, out = index_ops("index", "migrate", "--settle", "0", tty=False)
    assert code == 2 and out.strip().splitlines()[-1].startswith("error: refusing"), out
    assert set(search.indices) == {"file-index-v1"}
    code, out = index_ops("index", "migrate", "--settle", "0", typed="prod\n")
    assert code == 2 and "not confirmed" in out
    assert set(search.indices) == {"file-index-v1"}


def test_a_migration_stopped_after_the_write_alias_moved_is_finished_by_migrate(index_ops,
                                                                               search):
    client = writer(search)
    put(client, "a", {"key": "raw-files/a.txt", "etag": "1"})
    search.dispatch("PUT", "/file-index-v2", {}, b"")
    search.dispatch("POST", "/_aliases", {}, json.dumps({"actions": [
        {"remove": {"index": "file-index-v1", "alias": "file-index-write"}},
        {"add": {"index": "file-index-v2", "alias": "file-index-write",
                 "is_write_index": True}}]}).encode())
    code, out = index_ops("index", "status")
    assert code == 0 and "stopped half-way" in out, out
    code, out = index_ops("index", "migrate", "--settle", "0", "--yes")
    assert code == 0, out
    assert "resume" in out
    assert aliases(search)[BASE] == {"file-index-v2"}
    assert set(search.docs(BASE)) == {"a"}


def test_migrate_stops_before_reads_switch_when_the_copy_is_short_then_resumes(
        index_ops, search, monkeypatch):
    client = writer(search)
    for i in range(5):
        put(client, f"doc-{i}", {"key": f"raw-files/{i}.txt", "etag": "1"})
    real_reindex = search._reindex
    monkeypatch.setattr(search, "_reindex", lambda body: (200, {  # copies nothing
        "took": 1, "total": 0, "created": 0, "updated": 0, "version_conflicts": 0,
        "failures": []}))
    code, out = index_ops("index", "migrate", "--settle", "0", "--yes")
    assert code == 1 and "STOPPED: file-index-v2 has 0 documents, file-index-v1 5" in out, out
    assert aliases(search)[BASE] == {"file-index-v1"}  # searches never saw the empty index
    assert aliases(search)[f"{BASE}-write"] == {"file-index-v2"}
    monkeypatch.setattr(search, "_reindex", real_reindex)
    code, out = index_ops("index", "migrate", "--settle", "0", "--yes")
    assert code == 0, out
    assert aliases(search)[BASE] == {"file-index-v2"}
    assert set(search.docs(BASE)) == {f"doc-{i}" for i in range(5)}


@pytest.mark.parametrize("command", [("index", "migrate", "--yes"),
                                     ("index", "rollback", "--yes")])
def test_a_missing_alias_is_a_one_line_error_and_changes_nothing(index_ops, search, command):
    search.dispatch("POST", "/_aliases", {}, json.dumps({"actions": [
        {"remove": {"index": "file-index-v1", "alias": "file-index-write"}}]}).encode())
    code, out = index_ops(*command, "--settle", "0")
    assert code == 2, out
    (line,) = out.strip().splitlines()
    assert line.startswith("error: alias file-index-write is missing") and "index init" in line
    assert set(search.indices) == {"file-index-v1"}
    code, out = index_ops("index", "status")
    assert code == 1 and "FAULT: alias file-index-write is missing" in out


def test_rollback_without_an_older_version_is_refused(index_ops):
    code, out = index_ops("index", "rollback", "--yes", "--settle", "0")
    assert code == 2 and "nothing to roll back to" in out, out


def test_a_domain_error_is_one_line_and_exit_2(index_ops, search):
    search.fail_next(1, 503)
    code, out = index_ops("index", "status")
    assert code == 2
    (line,) = out.strip().splitlines()
    assert line.startswith("error: OpenSearch GET /_cat/indices") and "503" in line, line
    assert "unavailable_shards_exception: fake injected failure" in line


def test_init_creates_everything_on_an_empty_domain_and_is_idempotent(index_ops, search):
    search.reset()
    code, out = index_ops("index", "init", "--yes")
    assert code == 0, out
    assert aliases(search) == {BASE: {"file-index-v1"}, f"{BASE}-write": {"file-index-v1"}}
    assert search.templates[BASE]["index_patterns"] == ["file-index-v*"]
    code, out = index_ops("index", "init", "--yes")
    assert code == 0 and "nothing to do" in out, out
    assert set(search.indices) == {"file-index-v1"}


def test_init_repairs_a_missing_write_alias(index_ops, search):
    search.dispatch("POST", "/_aliases", {}, json.dumps({"actions": [
        {"remove": {"index": "file-index-v1", "alias": "file-index-write"}}]}).encode())
    code, out = index_ops("index", "init", "--yes")
    assert code == 0, out
    assert aliases(search)[f"{BASE}-write"] == {"file-index-v1"}
    assert search.aliases[f"{BASE}-write"]["file-index-v1"]["is_write_index"] is True


def test_search_prints_best_hits_with_highlights_and_never_tombstones(index_ops, search):
    client = writer(search)
    docs = {
        "a": {"key": "raw-files/経理/2024/請求書_4月.pdf", "name": "請求書_4月.pdf",
              "folder": "raw-files/経理/2024", "extension": ".pdf", "content": "4月分の請求書です"},
        "b": {"key": "raw-files/営業/請求書一覧.xlsx", "name": "請求書一覧.xlsx",
              "folder": "raw-files/営業", "extension": ".xlsx", "content": "一覧"},
        "c": {"key": "raw-files/経理/2024/memo.txt", "name": "memo.txt",
              "folder": "raw-files/経理/2024", "extension": ".txt", "content": "請求書を送る"},
        "d": {"key": "raw-files/経理/2024/請求書_旧.pdf", "name": "請求書_旧.pdf",
              "folder": "raw-files/経理/2024", "extension": ".pdf", "content": "",
              "deleted": True},
    }
    for doc_id, source in docs.items():
        put(client, doc_id, source)
    code, out = index_ops("search", "請求書")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("3 of 3 hits for '請求書'"), out
    assert "請求書_4月.pdf" in lines[1] and "folder raw-files/経理/2024" in lines[1]
    assert "請求書_旧" not in out  # a tombstone is never a hit
    assert "name: [請求書]_4月.pdf" in out and "content: 4月分の[請求書]です" in out
    code, out = index_ops("search", "請求書", "--folder", "raw-files/経理", "--ext", "PDF")
    assert code == 0 and out.splitlines()[0].startswith("1 of 1 hits"), out
    code, out = index_ops("search", "見つからない")
    assert code == 1 and out.startswith("0 of 0 hits"), out
    code, out = index_ops("search", "  ")
    assert code == 2 and out.strip() == "error: search words must not be empty", out


def days_ago_ms(days: float) -> int:
    moment = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)
    return int(moment.timestamp() * 1000)


def test_purge_tombstones_deletes_only_old_ones_in_every_version(index_ops, search):
    """Tombstones older than the environment's tombstone_retention_days (30) go, from the live
    index and from the one kept for rollback; younger ones (a late create event may still
    need them), live documents and a new upload over an old tombstone stay."""
    client = writer(search)
    put(client, "live", {"key": "raw-files/live.txt", "etag": "1",
                         "last_modified_ms": days_ago_ms(400)})
    put(client, "old-1", {"key": "raw-files/old-1.txt", "deleted": True,
                          "last_modified_ms": days_ago_ms(45)})
    put(client, "old-2", {"key": "raw-files/old-2.txt", "deleted": True,
                          "last_modified_ms": days_ago_ms(31)})
    put(client, "young", {"key": "raw-files/young.txt", "deleted": True,
                          "last_modified_ms": days_ago_ms(29)})
    put(client, "back", {"key": "raw-files/back.txt", "deleted": True,
                         "last_modified_ms": days_ago_ms(60)})
    code, out = index_ops("index", "migrate", "--settle", "0", "--yes")
    assert code == 0, out
    put(client, "back", {"key": "raw-files/back.txt", "etag": "2",  # uploaded again
                         "last_modified_ms": days_ago_ms(1)})

    code, out = index_ops("index", "purge-tombstones", typed="dev\n")
    assert code == 0, out
    assert "delete 5 tombstones of files removed before" in out  # v1: 3, v2: old-1, old-2
    assert "(30 days ago): file-index-v1 3, file-index-v2 2" in out, out
    assert "deleted 5 tombstones" in out
    # v1 (kept for rollback) still had "back" as an old tombstone; v2 has the new upload.
    assert set(search.indices["file-index-v1"]) == {"live", "young"}
    assert set(search.indices["file-index-v2"]) == {"live", "young", "back"}
    assert search.indices["file-index-v2"]["back"]["source"]["etag"] == "2"
    deletes = [r["path"] for r in search.requests if "_delete_by_query" in r["path"]]
    assert len(deletes) == 2 and all("conflicts=proceed" in p for p in deletes), deletes

    code, out = index_ops("index", "purge-tombstones", "--older-than", "20", "--yes")
    assert code == 0 and "deleted 2 tombstones" in out, out  # "young" (29 days) in v1 and v2
    code, out = index_ops("index", "purge-tombstones", "--yes")
    assert code == 0 and "nothing to do" in out, out


@pytest.mark.parametrize("days", ["18", "5"])
def test_purge_tombstones_refuses_an_age_a_late_event_can_still_reach(index_ops, search, days):
    client = writer(search)
    put(client, "gone", {"key": "raw-files/gone.txt", "deleted": True,
                         "last_modified_ms": days_ago_ms(19)})
    code, out = index_ops("index", "purge-tombstones", "--older-than", days, "--yes")
    assert code == 2, out
    assert out.startswith(f"error: --older-than {days} days is too short: an S3 event can still "
                          "arrive 18 days after it was sent"), out
    assert "gone" in search.indices["file-index-v1"]


def test_purge_tombstones_without_confirmation_deletes_nothing(index_ops, search):
    client = writer(search)
    put(client, "gone", {"key": "raw-files/gone.txt", "deleted": True,
                         "last_modified_ms": days_ago_ms(90)})
    code, out = index_ops("index", "purge-tombstones", typed="no\n")
    assert code == 2, out
    assert "gone" in search.indices["file-index-v1"]
