"""rounds.py: the worker in-process against moto's SQS/S3 and the fake OpenSearch: what a round
indexes, skips, retries and dead-letters."""
from __future__ import annotations

import json

from ingest_worker.plan import doc_id

from harness.local_aws import ACCOUNT_ID, INDEX, WRITE_ALIAS, wait_for


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
    # The worker role may call OpenSearch below its write alias only (es:ESHttp* on
    # <domain>/file-index-write/*): no cluster-level path like /_bulk or /_alias.
    paths = {r["path"].split("?")[0] for r in fake_os.requests}
    assert paths and all(p.startswith(f"/{WRITE_ALIAS}/") for p in paths), paths


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


def test_keys_are_url_decoded_and_only_events_under_prefix_are_handled(
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
    assert sorted(d["source"]["key"] for d in docs.values() if not d["source"].get("deleted")) \
        == sorted(keys)
    # The removal of a never-indexed object leaves a tombstone (docs/deletes.md).
    assert docs[doc_id(aws.bucket, "raw-files/gone.txt")]["source"]["deleted"] is True
    assert docs[doc_id(aws.bucket, "raw-files/x/y.bin")]["source"]["metadata_only"] is True
    assert "content" not in docs[doc_id(aws.bucket, "raw-files/x/y.bin")]["source"]
    ignored = sorted(e["key"] for e in w.processed("ignored"))
    assert ignored == ["other/x.txt"]
    assert {e["outcome"] for e in w.processed()} == {
        "indexed", "metadata_only", "removed", "ignored", "test_event"}
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
        wait_for(lambda: w.logs.events("index_ready"), what="write alias found")
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
    # Each delivery was downloaded once: the retried _mget/_bulk reused what was fetched (a
    # second delivery of a message by moto's unlocked ReceiveMessage is downloaded again).
    assert stopped["calls"]["s3.GetObject"] == len([e for e in w.processed() if e["key"]])
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
    # Another worker already indexed a newer version of this object.
    newer = {"key": key, "etag": "other", "last_modified_ms": 99999999999999}
    fake_os.indices[fake_os.resolve_single(INDEX)][doc_id(aws.bucket, key)] = {
        "version": 99999999999999, "seq_no": 1, "source": newer}
    aws.put(key, b"old content")
    with run_worker(aws.env(fake_os)) as w:
        wait_for(lambda: w.processed("unchanged"), what="unchanged")
        w.stop()
    assert fake_os.docs(INDEX)[doc_id(aws.bucket, key)]["source"] == newer
    assert fake_os.writes == 0


def _notification(aws, key: str, version_id: str | None = None, sequencer: str | None = None,
                  size: int | None = None) -> str:
    obj: dict = {"key": key.replace(" ", "+")}
    for name, value in (("versionId", version_id), ("sequencer", sequencer), ("size", size)):
        if value is not None:
            obj[name] = value
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": aws.bucket}, "object": obj}}]})


def test_duplicates_on_two_instances_at_once_write_each_object_once(aws, fake_os, run_worker):
    """3 copies of each of 40 notifications, two workers (as two instances) on one queue, an
    index answering in 100 ms: the conditional writes let exactly one copy write."""
    keys = [f"raw-files/dup-{i:02d}.txt" for i in range(40)]
    for key in keys:
        aws.put(key, key.encode())
    bodies = []
    while len(bodies) < 40:
        for m in aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10,
                                         WaitTimeSeconds=1).get("Messages", []):
            aws.sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=m["ReceiptHandle"])
            if "Records" in m["Body"]:
                bodies.append(m["Body"])
    copies = [b for _ in range(3) for b in bodies]  # copy n of every object, then copy n+1
    for i in range(0, len(copies), 10):
        aws.sqs.send_message_batch(QueueUrl=aws.queue_url, Entries=[
            {"Id": str(n), "MessageBody": b} for n, b in enumerate(copies[i:i + 10])])
    fake_os.latency = lambda *_: 0.1
    env = aws.env(fake_os, WORKER_CONCURRENCY=8, WORKER_LOG_LEVEL="INFO")
    with run_worker(env) as one, run_worker(env) as two:
        wait_for(lambda: len(one.processed()) + len(two.processed()) >= 120, timeout=60,
                 what="120 copies processed")
        wait_for(lambda: aws.depth() == 0, what="queue empty")
        one.stop()
        two.stop()
    written = [w["id"] for w in fake_os.write_log]
    assert sorted(written) == sorted(doc_id(aws.bucket, k) for k in keys)  # once each
    outcomes = [e["outcome"] for w in (one, two) for e in w.processed()]
    assert outcomes.count("indexed") == 40 and outcomes.count("unchanged") >= 80
    assert aws.drain_dlq() == []


def test_same_second_uploads_processed_in_the_wrong_order_keep_the_newest(
        make_aws, fake_os, run_worker):
    """S3's LastModified has whole seconds; the event's sequencer orders the two uploads and
    its versionId names the content. The newer event processed first must stay indexed."""
    aws = make_aws(versioned=True)
    key = "raw-files/raced.txt"
    for _ in range(5):  # two uploads within one second of LastModified
        older = aws.put(key, b"older content")
        newer = aws.put(key, b"newer content")
        heads = [aws.s3.head_object(Bucket=aws.bucket, Key=key, VersionId=v["VersionId"])
                 for v in (older, newer)]
        if heads[0]["LastModified"] == heads[1]["LastModified"]:
            break
    assert heads[0]["LastModified"] == heads[1]["LastModified"], "uploads not in one second"
    aws.sqs.purge_queue(QueueUrl=aws.queue_url)  # moto's own events carry no sequencer
    newer_id = aws.send_raw(_notification(aws, key, newer["VersionId"], "0062E7F2B0E1C1A6F2"))
    with run_worker(aws.env(fake_os)) as w:
        wait_for(lambda: [e for e in w.processed() if e["message_id"] == newer_id],
                 what="newer event processed")
        older_id = aws.send_raw(_notification(aws, key, older["VersionId"],
                                              "0062E7F2B0E1C1A6F1"))
        wait_for(lambda: [e for e in w.processed() if e["message_id"] == older_id],
                 what="older event processed")
        w.stop()
    doc = fake_os.docs(INDEX)[doc_id(aws.bucket, key)]["source"]
    assert doc["content"] == "newer content" and doc["version_id"] == newer["VersionId"]
    assert [(e["message_id"], e["outcome"]) for e in w.processed() if e["key"]] == [
        (newer_id, "indexed"), (older_id, "unchanged")]
    assert fake_os.writes == 1


def test_both_same_second_events_in_one_round_write_only_the_newest(
        make_aws, fake_os, run_worker):
    aws = make_aws(versioned=True)
    key = "raw-files/pair.txt"
    older = aws.put(key, b"older content")
    newer = aws.put(key, b"newer content")
    aws.sqs.purge_queue(QueueUrl=aws.queue_url)
    aws.send_raw(_notification(aws, key, newer["VersionId"], "00A2"))
    aws.send_raw(_notification(aws, key, older["VersionId"], "00A1"))
    with run_worker(aws.env(fake_os)) as w:
        wait_for(lambda: len([e for e in w.processed() if e["key"]]) == 2, what="both processed")
        w.stop()
    assert fake_os.docs(INDEX)[doc_id(aws.bucket, key)]["source"]["content"] == "newer content"
    assert [w_["version_id"] for w_ in fake_os.write_log] == [newer["VersionId"]]


def test_objects_over_the_size_limit_are_never_requested_and_every_read_names_the_owner(
        aws, fake_os, run_worker):
    aws.put("raw-files/huge.txt", b"x" * 5000)
    aws.put("raw-files/small.txt", b"small")
    with run_worker(aws.env(fake_os, WORKER_MAX_OBJECT_BYTES=1000)) as w:
        reads = []
        w.worker.s3.meta.events.register(
            "provide-client-params.s3.*",
            lambda params, model, **_: reads.append((model.name, dict(params))))
        wait_for(lambda: len([e for e in w.processed() if e["key"]]) == 2, what="processed")
        w.stop()
    outcomes = {e["key"]: e["outcome"] for e in w.processed() if e["key"]}
    assert outcomes == {"raw-files/huge.txt": "metadata_only", "raw-files/small.txt": "indexed"}
    assert sorted((op, p["Key"]) for op, p in reads) == [("GetObject", "raw-files/small.txt"),
                                                         ("HeadObject", "raw-files/huge.txt")]
    assert all(p["ExpectedBucketOwner"] == ACCOUNT_ID for _, p in reads)
    assert w.logs.events("worker_stopped")[0]["calls"]["s3.GetObject"] == 1
    huge = fake_os.docs(INDEX)[doc_id(aws.bucket, "raw-files/huge.txt")]["source"]
    assert huge["size"] == 5000 and huge["metadata_only"] is True
