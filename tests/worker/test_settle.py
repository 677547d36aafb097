"""settle.py: which SQS action each outcome gets (pure rules), and checked deletes on moto."""
from __future__ import annotations

from ingest_worker.outcomes import DeadLetter, Finished, ReceivedMessage, Retry
from ingest_worker.settle import dlq_entry, retry_delay, settlement

from harness.local_aws import wait_for


def message(n: int, receive_count: int = 1) -> ReceivedMessage:
    return ReceivedMessage(message_id=f"id-{n}", receipt_handle=f"rh-{n}", body=f"body-{n}",
                           receive_count=receive_count, received_at=0.0, deadline=900.0)


def test_each_outcome_gets_one_action():
    m = [message(n) for n in range(4)]
    dead, retry = DeadLetter("malformed_json", "x"), Retry("Timeout")
    s = settlement([(m[0], Finished()), (m[1], dead), (m[2], retry), (m[3], Finished())])
    assert s.delete == [m[0], m[3]] and s.dead_letter == [(m[1], dead)]
    assert s.retry == [(m[2], retry)]


def test_retry_delay_backs_off_exponentially_within_bounds():
    assert [retry_delay(n, 900) for n in (1, 2, 3, 4, 9)] == [2, 4, 8, 16, 256]
    assert retry_delay(3, 5) == 5 and retry_delay(20, 900) == 256


def test_dlq_copy_keeps_the_body_and_carries_the_reason():
    entry = dlq_entry("0", message(7, receive_count=3), DeadLetter("object_missing", "s3://b/k"))
    assert entry["MessageBody"] == "body-7"
    attrs = {k: v["StringValue"] for k, v in entry["MessageAttributes"].items()}
    assert attrs == {"reason": "object_missing", "detail": "s3://b/k",
                     "source_message_id": "id-7", "receive_count": "3"}
    empty = ReceivedMessage("i", "r", "", 1, 0.0, 0.0)
    assert dlq_entry("1", empty, DeadLetter("malformed_json", ""))["MessageBody"] == "(empty)"


def test_failed_delete_is_retried_and_logged(aws, fake_os, run_worker):
    aws.put("raw-files/del.txt")
    with run_worker(aws.env(fake_os)) as w:
        spoiled = []

        def spoil_first_delete(params, **_):
            if not spoiled:
                spoiled.append(params["Entries"][0]["ReceiptHandle"])
                params["Entries"][0]["ReceiptHandle"] = "not-a-valid-receipt-handle"

        w.worker.sqs.meta.events.register(
            "provide-client-params.sqs.DeleteMessageBatch", spoil_first_delete)
        wait_for(lambda: aws.depth() == 0, what="queue empty")
        w.stop()
    failures = w.logs.events("delete_failed")
    assert len(failures) == 1
    assert failures[0]["msg"].startswith("Failed to delete message")
    assert failures[0]["level"] == "ERROR" and failures[0]["attempt"] == 1
    assert failures[0]["code"] == "ReceiptHandleIsInvalid"
    assert w.logs.events("worker_stopped")[0]["counts"]["deleted"] == 2




def test_a_delete_that_keeps_failing_is_abandoned_with_the_runbook_phrase(aws):
    from ingest_worker.logs import JsonLog
    from ingest_worker.settle import DELETE_ATTEMPTS, Settler
    from ingest_worker.stats import Counters

    from harness.local_aws import LogCapture

    logs, forgotten = LogCapture(), []
    settler = Settler(sqs=aws.sqs, queue_url=aws.queue_url, dlq_url=aws.dlq_url,
                      visibility_timeout=6, log=JsonLog("INFO", stream=logs),
                      counters=Counters(), on_settled=forgotten.extend)
    bad = ReceivedMessage("id-bad", "not-a-valid-receipt-handle", "{}", 1, 0.0, 6.0)
    settler.delete([bad])
    assert [e["attempt"] for e in logs.events("delete_failed")] == [1, 2, 3]
    (abandoned,) = logs.events("delete_abandoned")
    assert abandoned["msg"].startswith("Failed to delete message id-bad after 3 attempts")
    assert (abandoned["message_id"], abandoned["code"], abandoned["attempts"], abandoned["level"]) \
        == ("id-bad", "ReceiptHandleIsInvalid", DELETE_ATTEMPTS, "ERROR")
    assert forgotten == [bad]  # no longer held: it reappears and is found unchanged
