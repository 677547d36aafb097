"""`ops reconcile`: bucket vs index, paged on both sides, repaired through the worker's path."""

from __future__ import annotations

import json
import urllib.request

from ingest_worker.plan import doc_id
from ingest_worker.s3_events import parse_body, should_index

from harness.local_aws import ACCOUNT_ID, InProcessWorker, wait_for
from harness.worker_process import worker_env
from ops.reextract import Throttle, current_version

INDEX = "file-index"
CURRENT = current_version()


def index_documents(search, docs: list[dict]) -> None:
    lines = "".join(json.dumps({"index": {"_id": doc_id(d["bucket"], d["key"])}}) + "\n"
                    + json.dumps(d) + "\n" for d in docs)
    request = urllib.request.Request(f"{search.url}/{INDEX}/_bulk", data=lines.encode(),
                                     method="POST",
                                     headers={"Content-Type": "application/x-ndjson"})
    assert not json.loads(urllib.request.urlopen(request).read())["errors"]


def etag(env, key: str) -> str:
    return env.s3.head_object(Bucket=env.bucket, Key=key)["ETag"].strip('"')


def lost_notifications(env, keys: list[str]) -> None:
    """Objects whose notifications never arrived (e.g. uploaded during pause --stop-notifications)."""
    for key in keys:
        env.s3.put_object(Bucket=env.bucket, Key=key, Body=f"content of {key}".encode())
    env.drain(env.queue_url)


KEYS = ["raw-files/a.txt", "raw-files/b.txt", "raw-files/c d.txt", "raw-files/z/é.txt",
        "raw-files/zz.md"]


def scenario(env, search) -> None:
    lost_notifications(env, KEYS)
    env.s3.put_object(Bucket=env.bucket, Key="elsewhere/x.txt", Body=b"not under the prefix")
    env.drain(env.queue_url)
    index_documents(search, [
        {"bucket": env.bucket, "key": "raw-files/a.txt", "etag": etag(env, "raw-files/a.txt")},
        {"bucket": env.bucket, "key": "raw-files/b.txt", "etag": "an-older-etag"},
        {"bucket": env.bucket, "key": "raw-files/deleted.txt", "etag": "gone"},
        {"bucket": "another-bucket", "key": "raw-files/c d.txt", "etag": "other"},
    ])



def drain_with_the_worker(deployed, search, moto) -> None:
    """The real worker (in this process) until the main queue is empty: what reconcile's
    messages become."""
    env = worker_env(queue_url=deployed.queue_url, dlq_url=deployed.dlq_url, search_url=search.url,
                     aws_endpoint=moto, bucket_owner=ACCOUNT_ID,
                     WORKER_OPENSEARCH_INDEX=f"{INDEX}-write", WORKER_CONCURRENCY=2,
                     WORKER_VISIBILITY_TIMEOUT_SECONDS=900, WORKER_WAIT_TIME_SECONDS=1,
                     WORKER_SHUTDOWN_TIMEOUT_SECONDS=10, WORKER_LOG_LEVEL="INFO")
    with InProcessWorker(env) as worker:
        wait_for(lambda: deployed.depth(deployed.queue_url) == 0, timeout=60, what="queue drained")
        worker.stop()


def test_report_lists_missing_stale_and_orphaned(deployed, search, ops):
    scenario(deployed, search)
    code, out = ops("reconcile", "--no-sign", "--page-size", "2")
    assert code == 1  # found something, changed nothing
    assert f"5 object(s) under s3://{deployed.bucket}/raw-files/, 3 document(s)" in out
    assert "       3 missing from the index\n             raw-files/c d.txt\n" \
           "             raw-files/z/é.txt\n             raw-files/zz.md" in out
    assert "       1 stale (ETag differs)\n             raw-files/b.txt" in out
    assert "       1 documents whose object is gone\n             raw-files/deleted.txt" in out
    assert deployed.depth(deployed.queue_url) == 0
    assert len(search.docs(INDEX)) == 4
    # Paged: 3 documents at 2 per page = 2 searches, each continuing with search_after.
    assert search.count("POST", "/_search") == 2


def test_apply_repairs_through_the_workers_normal_path(deployed, search, ops, moto):
    scenario(deployed, search)
    code, out = ops("reconcile", "--no-sign", "--apply", "--page-size", "2", typed="dev\n")
    assert code == 0, out
    assert "Enqueued 4 message(s); deleted 1 document(s)." in out
    messages = deployed.peek_all(deployed.queue_url)
    refs = [ref for m in messages for ref in parse_body(m["Body"]).records]
    assert sorted(r.key for r in refs) == ["raw-files/b.txt", "raw-files/c d.txt",
                                           "raw-files/z/é.txt", "raw-files/zz.md"]
    assert all(should_index(r, "raw-files/") and r.bucket == deployed.bucket for r in refs)
    assert doc_id(deployed.bucket, "raw-files/deleted.txt") not in search.docs(INDEX)

    drain_with_the_worker(deployed, search, moto)
    code, out = ops("reconcile", "--no-sign")
    assert code == 0, out
    assert "5 object(s)" in out and "5 document(s)" in out
    assert "       0 missing from the index" in out and "       0 stale" in out


def test_apply_needs_confirmation(deployed, search, ops):
    scenario(deployed, search)
    code, out = ops("reconcile", "--no-sign", "--apply", tty=False)
    assert code == 2 and "pass --yes" in out
    assert deployed.depth(deployed.queue_url) == 0 and len(search.docs(INDEX)) == 4


def test_requests_to_the_domain_are_signed(deployed, search, ops):
    code, out = ops("reconcile")
    assert code == 0, out
    searches = [r for r in search.requests if "/_search" in r["path"]]
    assert searches and all(r["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 ")
                             and "/es/aws4_request" in r["headers"]["Authorization"]
                             for r in searches)


def test_apply_counts_first_and_caps_deletes(deployed, search, ops):
    scenario(deployed, search)
    code, out = ops("reconcile", "--no-sign", "--apply", "--max-deletes", "0", "--yes")
    assert code == 2
    assert "1 document(s) would be deleted, more than --max-deletes 0" in out
    assert deployed.depth(deployed.queue_url) == 0 and len(search.docs(INDEX)) == 4
    code, out = ops("reconcile", "--no-sign", "--apply", tty=False)
    assert code == 2
    assert "Enqueue 4 message(s) for the missing or stale objects" in out  # counted, then asked
    assert "delete 1 document(s)" in out and "pass --yes" in out


# --reextract: unchanged objects whose document an older extractor read (ops/reextract.py).

REEXTRACT = {"raw-files/a.txt": {"extractor_version": "1", "extraction": "unsupported"},
             "raw-files/b.txt": {"extractor_version": "2", "extraction": "ok"},
             "raw-files/c d.txt": {},  # indexed before extraction had versions
             "raw-files/z/é.txt": {"extractor_version": CURRENT, "extraction": "unsupported"},
             "raw-files/zz.md": {"extractor_version": CURRENT, "extraction": "ok"}}


def reextract_scenario(env, search) -> None:
    lost_notifications(env, KEYS)
    index_documents(search, [{"bucket": env.bucket, "key": key, "etag": etag(env, key), **extra}
                             for key, extra in REEXTRACT.items()])


def test_reextract_selects_older_extractor_versions_and_statuses(deployed, search, ops):
    reextract_scenario(deployed, search)
    code, out = ops("reconcile", "--no-sign")
    assert code == 0 and "re-extract" not in out  # not asked: nothing about it
    code, out = ops("reconcile", "--no-sign", "--reextract", "--page-size", "2")
    assert code == 1, out
    assert (f"       3 to re-extract (extractor_version older than {CURRENT})\n"
            "             raw-files/a.txt\n             raw-files/b.txt\n"
            "             raw-files/c d.txt\n") in out
    assert "       0 missing from the index" in out and "       0 stale" in out
    code, out = ops("reconcile", "--no-sign", "--reextract", "--extraction", "unsupported,failed")
    assert f"       1 to re-extract (extractor_version older than {CURRENT}, extraction " \
           "failed or unsupported)\n             raw-files/a.txt\n" in out
    # The version the fleet runs, when it is not this checkout's.
    code, out = ops("reconcile", "--no-sign", "--reextract", "--extractor-version", "2")
    assert "       2 to re-extract (extractor_version older than 2)" in out
    assert deployed.depth(deployed.queue_url) == 0  # a report changes nothing


def test_reextract_bad_selection_names_the_statuses(deployed, search, ops):
    code, out = ops("reconcile", "--no-sign", "--reextract", "--extraction", "ok,brilliant")
    assert code == 2 and "unknown status brilliant" in out and "no_text_layer" in out
    code, out = ops("reconcile", "--no-sign", "--extraction", "failed")
    assert code == 2 and "add --reextract" in out
    code, out = ops("reconcile", "--no-sign", "--rate", "0")
    assert code == 2 and "--rate 0.0: must be above 0" in out


def test_reextract_apply_throttled_then_the_worker_extracts_again(deployed, search, ops, moto):
    reextract_scenario(deployed, search)
    code, out = ops("reconcile", "--no-sign", "--reextract", "--apply", "--rate", "50",
                    typed="dev\n")
    assert code == 0, out
    assert "Enqueue 0 message(s) for the missing or stale objects and 3 to re-extract" in out
    assert "Throttled: at most 50 message(s) per second, none while the main queue holds 100" \
        in out
    assert "Enqueued 3 message(s); deleted 0 document(s)." in out
    drain_with_the_worker(deployed, search, moto)
    docs = search.docs(INDEX)
    for key in ("raw-files/a.txt", "raw-files/b.txt", "raw-files/c d.txt"):
        doc = docs[doc_id(deployed.bucket, key)]["source"]
        assert doc["extractor_version"] == CURRENT and doc["content"] == f"content of {key}"
    assert deployed.depth(deployed.dlq_url) == 0
    code, out = ops("reconcile", "--no-sign", "--reextract")
    assert code == 0 and "       0 to re-extract" in out


def test_throttle_keeps_the_rate_and_waits_for_the_backlog():
    now = [0.0]
    backlog = [0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds
        backlog[0] = max(0, backlog[0] - 25)  # the workers drain while we wait

    throttle = Throttle(rate=10, max_backlog=30, depth=lambda: backlog[0], sleep=sleep,
                        clock=lambda: now[0], poll_seconds=5)
    for _ in range(5):
        throttle.before_send(10)
        backlog[0] += 10
    # 50 messages at 10/s: the last batch goes out at 4 s, not before.
    assert now[0] == 4.0 and sum(slept) == 4.0 and throttle.waited_backlog == 0
    backlog[0] = 80
    throttle.before_send(10)  # 80 queued (55 after the rate's 1 s): two polls to fall below 30
    assert throttle.waited_backlog == 10 and backlog[0] < 30


def test_reextract_reads_the_workers_version_and_statuses_from_its_source():
    from ingest_worker.extraction import EXTRACTOR_VERSION, STATUSES

    from ops.reextract import older, statuses
    assert CURRENT == EXTRACTOR_VERSION and statuses() == STATUSES
    assert older(None, "3") and older("2", "3") and not older("3", "3")
    assert not older("10", "9")  # numbers compare as numbers, not as strings
