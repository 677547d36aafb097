"""rounds.py: the worker in-process against moto's SQS/S3 and the fake OpenSearch: what a round
indexes, skips, retries and dead-letters."""
from __future__ import annotations

import json

from ingest_worker.planning import doc_id

from tests.support.local_aws import INDEX, wait_for


def test_happy_path_indexes_deletes_and_skips_the_test_event(aws, fake_os, run_worker):
    aws.put("raw-files/docs/readme.md", b"# Title\nsearchable words")
    with run_worker(aws.env(fake_os)) as w:
        wait_for(lambda: w.logs.events("message_processed", outcome="indexed"),
                 what="indexed")
        wait_for(lambda: aws.depth() == 0, what="queue empty")
        assert w.stop() == 0
    docs = fake_os.docs(INDEX)
    doc = docs[doc_id(aws.bucket, "raw-files/docs/readme.md")]["source"]
    assert doc["content"] == "# Title\nsearchable words"
    assert doc["key"] == "raw-files/docs/readme.md" and doc["bucket"] == aws.bucket
    assert doc["metadata_only"] is False and len(doc["etag"]) == 32
    assert len(docs) == 1
    test_events = w.logs.events("message_processed", outcome="test_event")
    assert [e["bucket"] for e in test_events] == [aws.bucket]
    processed = w.logs.events("message_processed", outcome="indexed")[0]
    assert set(processed) >= {"ts", "level", "event", "msg", "message_id", "bucket", "key",
                              "outcome", "duration_ms"}
    assert processed["level"] == "INFO" and isinstance(processed["duration_ms"], float)
    assert aws.drain_dlq() == []
    stopped = w.logs.events("worker_stopped")[0]
    assert stopped["drained"] is True
    # 1 test event + 1 object: at most a handful of SQS calls besides empty long polls.
    assert stopped["calls"].get("sqs.DeleteMessageBatch", 0) <= 2
    # The worker role may call OpenSearch on its index's paths only (es:ESHttp* on
    # <domain>/file-index and <domain>/file-index/*): no cluster-level path like /_bulk.
    paths = {r["path"].split("?")[0] for r in fake_os.requests}
    assert paths and all(p == f"/{INDEX}" or p.startswith(f"/{INDEX}/") for p in paths), paths


def test_same_object_notified_twice_and_reuploaded_unchanged_gives_one_write(
        aws, fake_os, run_worker):
    key = "raw-files/dup.txt"
    aws.put(key, b"same bytes")
    # A duplicate notification (the incident's second notification path) of the same event.
    msg = wait_for(lambda: [m for m in aws.sqs.receive_message(
        QueueUrl=aws.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
        "Messages", []) if "Records" in m["Body"]], what="notification")[0]
    aws.send_raw(msg["Body"])
    with run_worker(aws.env(fake_os)) as w:
        wait_for(lambda: len(w.processed()) >= 3, what="three messages")
        wait_for(lambda: aws.depth() == 0, what="queue empty")
        aws.put(key, b"same bytes")  # DataSync re-sync: new event, new LastModified, same ETag
        wait_for(lambda: len(w.processed()) >= 4, what="re-upload processed")
        w.stop()
    outcomes = sorted(e["outcome"] for e in w.processed() if e["key"] == key)
    assert outcomes == ["indexed", "unchanged", "unchanged"]
    assert fake_os.writes == 1
    assert list(fake_os.docs(INDEX)) == [doc_id(aws.bucket, key)]


def test_keys_are_url_decoded_and_only_created_under_prefix_are_indexed(
        aws, fake_os, run_worker):
    keys = ["raw-files/a b+c.txt", "raw-files/日本語/ファイル 1.md",
            "raw-files/deep/er/nest/100%.csv", "raw-files/x/y.bin"]
    for key in keys:
        aws.put(key, b"col1,col2\n1,2" if key.endswith(".csv") else b"text body")
    aws.put("elsewhere/ignored.txt")  # outside the notification's prefix: no message at all
    removed = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete",
                            "s3": {"bucket": {"name": aws.bucket},
                                   "object": {"key": "raw-files/gone.txt"}}}]}
    outside = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                            "s3": {"bucket": {"name": aws.bucket},
                                   "object": {"key": "other/x.txt"}}}]}
    aws.send_raw(json.dumps(removed))
    aws.send_raw(json.dumps(outside))
    with run_worker(aws.env(fake_os)) as w:
        wait_for(lambda: len(w.processed()) >= 7, what="all messages")
        wait_for(lambda: aws.depth() == 0, what="queue empty")
        w.stop()
    docs = fake_os.docs(INDEX)
    assert sorted(d["source"]["key"] for d in docs.values()) == sorted(keys)
    assert docs[doc_id(aws.bucket, "raw-files/x/y.bin")]["source"]["metadata_only"] is True
    assert "content" not in docs[doc_id(aws.bucket, "raw-files/x/y.bin")]["source"]
    ignored = sorted(e["key"] for e in w.processed("ignored"))
    assert ignored == ["other/x.txt", "raw-files/gone.txt"]
    assert {e["outcome"] for e in w.processed()} == {
        "indexed", "metadata_only", "ignored", "test_event"}
    assert aws.drain_dlq() == []


def test_poison_messages_go_to_the_dlq_with_a_reason(aws, fake_os, run_worker):
    aws.put("raw-files/vanishes.txt")
    aws.s3.delete_object(Bucket=aws.bucket, Key="raw-files/vanishes.txt")
    bad_json = aws.send_raw("{not json")
    not_s3 = aws.send_raw(json.dumps({"source": "aws.s3", "detail-type": "Object Created"}))
    with run_worker(aws.env(fake_os)) as w:
        wait_for(lambda: len(w.logs.events("sent_to_dlq")) >= 3, what="three poison messages")
        wait_for(lambda: aws.depth() == 0, what="queue empty")
        w.stop()
    reasons = {e["message_id"]: e["reason"] for e in w.logs.events("sent_to_dlq")}
    assert reasons[bad_json] == "malformed_json" and reasons[not_s3] == "not_s3_event"
    assert sorted(reasons.values()) == ["malformed_json", "not_s3_event", "object_missing"]
    assert all(e["level"] == "ERROR" for e in w.logs.events("sent_to_dlq"))
    dlq = aws.drain_dlq()
    assert sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in dlq) == sorted(
        reasons.values())
    bodies = {m["MessageAttributes"]["source_message_id"]["StringValue"]: m["Body"]
              for m in dlq}
    assert bodies[bad_json] == "{not json"
    assert fake_os.docs(INDEX) == {}


def test_index_answering_429_and_503_is_retried_in_process_without_a_receive_or_a_download(
        aws, fake_os, run_worker):
    keys = [f"raw-files/retry-{i}.txt" for i in range(3)]
    with run_worker(aws.env(fake_os)) as w:
        wait_for(lambda: fake_os.count("PUT"), what="index created")
        fake_os.fail_next(2, 429)
        fake_os.fail_next(1, 503)
        for key in keys:
            aws.put(key, key.encode())
        wait_for(lambda: len(fake_os.docs(INDEX)) == 3, timeout=30, what="all indexed")
        wait_for(lambda: aws.depth() == 0, what="queue empty")
        w.stop()
    assert w.logs.events("message_failed") == [] and aws.drain_dlq() == []
    stopped = w.logs.events("worker_stopped")[0]
    assert stopped["counts"]["in_process_retries"] == 3
    # Each object was downloaded once: the retried _mget/_bulk reused what was fetched.
    assert stopped["calls"]["s3.GetObject"] == 3
    assert sorted(e["key"] for e in w.processed("indexed")) == keys


def test_unindexable_document_goes_to_the_dlq(aws, fake_os, run_worker):
    key = "raw-files/broken.json"
    fake_os.reject_doc(doc_id(aws.bucket, key))
    aws.put(key, b'{"a": 1}')
    with run_worker(aws.env(fake_os)) as w:
        wait_for(lambda: w.logs.events("sent_to_dlq"), what="dlq")
        w.stop()
    assert w.logs.events("sent_to_dlq")[0]["reason"] == "index_rejected"
    assert [m["MessageAttributes"]["reason"]["StringValue"] for m in aws.drain_dlq()] == [
        "index_rejected"]


def test_older_object_never_overwrites_newer_document(aws, fake_os, run_worker):
    key = "raw-files/raced.txt"
    fake_os.dispatch("PUT", "/" + INDEX, {}, b"{}")
    # Another worker already indexed a newer version of this object.
    newer = {"key": key, "etag": "other", "last_modified_ms": 99999999999999}
    fake_os.indices[INDEX][doc_id(aws.bucket, key)] = {
        "version": 99999999999999, "seq_no": 1, "source": newer}
    aws.put(key, b"old content")
    with run_worker(aws.env(fake_os)) as w:
        wait_for(lambda: w.processed("unchanged"), what="unchanged")
        w.stop()
    assert fake_os.docs(INDEX)[doc_id(aws.bucket, key)]["source"] == newer
    assert fake_os.writes == 0
