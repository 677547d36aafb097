"""heartbeat.py: held messages stay invisible while a round is slow."""
from __future__ import annotations

import time

from ingest_worker.clock import Clock
from ingest_worker.heartbeat import (
    HOLD_LIMIT_MARGIN,
    SQS_MAX_HOLD_SECONDS,
    Heartbeat,
    InFlight,
    heartbeat_timing,
    next_visibility,
)
from ingest_worker.logs import JsonLog
from ingest_worker.outcomes import ReceivedMessage
from ingest_worker.stats import Counters

from harness.local_aws import LogCapture, wait_for


def test_timing_extends_well_before_expiry():
    assert heartbeat_timing(900) == (30.0, 300.0)
    assert heartbeat_timing(6) == (1.0, 2.0)
    tick, margin = heartbeat_timing(2)
    assert tick == 0.5 and margin == 1.0 and margin < 2


def test_extensions_stop_short_of_sqs_12_hour_limit():
    limit = SQS_MAX_HOLD_SECONDS - HOLD_LIMIT_MARGIN
    assert next_visibility(0, 900) == 900
    assert next_visibility(limit - 900, 900) == 900
    assert next_visibility(limit - 300, 900) == 300  # the last extension is shorter
    assert next_visibility(limit - 30, 900) is None  # give it back instead
    assert next_visibility(limit - 30, 20) == 20 and next_visibility(limit - 10, 20) is None


class _RecordingSettler:
    def __init__(self) -> None:
        self.changes: list[tuple[str, int]] = []

    def change_visibility(self, messages, seconds):
        self.changes += [(m.message_id, seconds(m)) for m in messages]
        return list(messages)


def test_a_message_held_almost_12_hours_is_given_back_the_others_extended():
    clock = Clock()
    now = clock.now()
    held, settler, logs = InFlight(), _RecordingSettler(), LogCapture()
    old = ReceivedMessage("old", "rh-old", "", 1, received_at=now - SQS_MAX_HOLD_SECONDS + 100,
                          deadline=now + 10)
    young = ReceivedMessage("young", "rh-young", "", 1, received_at=now - 800, deadline=now + 100)
    held.add([old, young])
    beat = Heartbeat(in_flight=held, settler=settler, visibility_timeout=900,
                     log=JsonLog("INFO", stream=logs), counters=Counters(), clock=clock)
    beat.beat(margin=300)
    assert settler.changes == [("young", 900), ("old", 0)]
    assert held.all() == [young] and young.deadline > now + 800
    (event,) = logs.events("hold_limit_reached")
    assert event["count"] == 1 and event["message_ids"] == ["old"]


def test_in_flight_reports_the_messages_due_for_extension():
    held = InFlight()
    soon = ReceivedMessage("a", "rh-a", "", 1, received_at=0.0, deadline=10.0)
    later = ReceivedMessage("b", "rh-b", "", 1, received_at=0.0, deadline=100.0)
    held.add([soon, later])
    assert held.due(now=5.0, margin=10.0) == [soon] and len(held) == 2
    held.forget([soon])
    assert soon not in held and later in held and held.all() == [later]


def test_heartbeat_extends_visibility_of_slow_messages(make_aws, fake_os, run_worker):
    aws = make_aws(visibility=2)
    aws.put("raw-files/slow.txt")
    fake_os.after_bulk = lambda: time.sleep(4)  # twice the visibility timeout
    with run_worker(aws.env(fake_os)) as w:
        wait_for(lambda: w.processed("indexed"), timeout=20, what="indexed")
        wait_for(lambda: aws.depth() == 0, what="queue empty")
        w.stop()
    assert w.logs.events("worker_stopped")[0]["counts"]["visibility_extended"] >= 1
    assert fake_os.count("POST", "_bulk") == 1  # never redelivered while held
    assert [e["outcome"] for e in w.processed() if e["key"]] == ["indexed"]


