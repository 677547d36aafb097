"""heartbeat.py: held messages stay invisible while a round is slow."""
from __future__ import annotations

import time

from ingest_worker.heartbeat import InFlight, heartbeat_timing
from ingest_worker.messages import ReceivedMessage

from tests.support.local_aws import wait_for


def test_timing_extends_well_before_expiry():
    assert heartbeat_timing(900) == (30.0, 300.0)
    assert heartbeat_timing(6) == (1.0, 2.0)
    tick, margin = heartbeat_timing(2)
    assert tick == 0.5 and margin == 1.0 and margin < 2


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


