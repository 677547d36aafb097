"""worker.py: the lifecycle of the real process (`python -m ingest_worker`): SIGKILL mid-batch,
SIGTERM drains in-flight work and exits 0."""
from __future__ import annotations

import datetime
import signal
import threading
import time

from ingest_worker.plan import doc_id

from harness.local_aws import INDEX, wait_for


def test_sigkill_mid_batch_message_reappears_and_is_indexed_exactly_once(
        make_aws, fake_os, worker_process):
    aws = make_aws(visibility=3)
    key = "raw-files/killed.txt"
    written = threading.Event()
    release = threading.Event()

    def freeze_after_write():
        written.set()
        release.wait(10)

    fake_os.after_bulk = freeze_after_write
    first = worker_process(aws.env(fake_os, WORKER_VISIBILITY_TIMEOUT_SECONDS=3))
    aws.put(key, b"kill me")
    assert written.wait(20), "first worker never wrote"
    # The document is written but the answer (and so the delete) never reaches the worker.
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    fake_os.after_bulk = None
    release.set()
    assert fake_os.writes == 1
    second = worker_process(aws.env(fake_os, WORKER_VISIBILITY_TIMEOUT_SECONDS=3))
    wait_for(lambda: [e for e in second.events("message_processed") if e["key"] == key],
             timeout=20, what="redelivered message processed")
    wait_for(lambda: aws.depth() == 0, what="queue empty")
    second.proc.send_signal(signal.SIGTERM)
    assert second.proc.wait(20) == 0
    redelivered = [e for e in second.events("message_processed") if e["key"] == key]
    assert [e["outcome"] for e in redelivered] == ["unchanged"]
    assert fake_os.writes == 1 and list(fake_os.docs(INDEX)) == [doc_id(aws.bucket, key)]
    assert aws.drain_dlq() == []


def test_sigterm_finishes_in_flight_work_and_exits_zero(aws, fake_os, worker_process):
    keys = [f"raw-files/term-{i}.txt" for i in range(5)]
    in_bulk = threading.Event()

    def slow_bulk():
        in_bulk.set()
        threading.Event().wait(1.5)

    fake_os.after_bulk = slow_bulk
    wp = worker_process(aws.env(fake_os, WORKER_CONCURRENCY=2))
    for key in keys:
        aws.put(key, key.encode())
    assert in_bulk.wait(20)
    wp.proc.send_signal(signal.SIGTERM)
    assert wp.proc.wait(20) == 0
    events = [e["event"] for e in wp.lines()]
    assert events[0] == "worker_started" and events[-1] == "worker_stopped"
    assert "worker_stopping" in events and "_non_json" not in events
    stopping = wp.events("worker_stopping")[0]
    assert stopping["reason"] == "SIGTERM" and stopping["in_flight"] >= 1  # mid-batch
    assert wp.events("worker_stopped")[0]["drained"] is True
    fake_os.after_bulk = None
    # Whatever the first worker did not finish is still in the queue: nothing is lost.
    indexed = {e["key"] for e in wp.events("message_processed") if e["outcome"] == "indexed"}
    assert indexed, "the in-flight batch was finished, not dropped"
    second = worker_process(aws.env(fake_os))
    wait_for(lambda: second.events("index_ready"), what="second worker ready")
    wait_for(lambda: len(fake_os.docs(INDEX)) == len(keys), timeout=20, what="all indexed")
    wait_for(lambda: aws.depth() == 0, what="queue empty")
    second.proc.send_signal(signal.SIGTERM)
    assert second.proc.wait(20) == 0
    assert fake_os.writes == len(keys)
    assert aws.drain_dlq() == []


def test_sigterm_on_an_idle_worker_stops_within_2_seconds(aws, fake_os, worker_process):
    """Nothing held: the worker does not wait for a pipeline sitting in a 20 s long poll."""
    wp = worker_process(aws.env(fake_os, WORKER_WAIT_TIME_SECONDS=20))
    wait_for(lambda: wp.events("index_ready"), what="worker ready")
    wait_for(lambda: [e for e in wp.events("message_processed") if e["outcome"] == "test_event"],
             what="test event done")
    time.sleep(1.0)  # every pipeline is back in a long poll
    sent = time.monotonic()
    wp.proc.send_signal(signal.SIGTERM)
    assert wp.proc.wait(10) == 0
    # Seen from here, the stop also includes interpreter exit and coverage writing its data,
    # which a loaded 2-core machine stretches by seconds: this bound only proves the worker did
    # not sit out the 20 s long poll. The 2 s is the worker's own figure, from its log lines.
    assert time.monotonic() - sent < 10.0
    stopping = wp.events("worker_stopping")[0]
    stopped_at = wp.events("worker_stopped")[0]["ts"]
    assert _seconds_between(stopping["ts"], stopped_at) < 2.0
    assert stopping["in_flight"] == 0 and wp.events("worker_stopped")[0]["drained"] is True


def _seconds_between(ts_a: str, ts_b: str) -> float:
    """Seconds between two of the worker's log timestamps (UTC, millisecond precision)."""
    def parse(ts: str) -> datetime.datetime:
        return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    return (parse(ts_b) - parse(ts_a)).total_seconds()
