"""The worker in-process against moto's SQS/S3 and the fake OpenSearch."""
from __future__ import annotations

from conftest import wait_for
from ingest_worker.worker import doc_id

INDEX = "file-index"


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
