"""gate.py: an outage of the index or the bucket pauses consumption and never sends good
files to the DLQ.

The outage tests run the worker's real schedule (in-process retries, probes 1, 2, 4 ... 60 s)
SPEED times faster through its clock, against moto's real SQS with the production visibility
(900 s) and redrive (5 receives): a 30-minute outage takes 15 s of real time. SQS never sees
more than one receive per message, so its real clock is the right one.
"""
from __future__ import annotations

import itertools
import threading
import time

import pytest
from botocore.awsrequest import AWSResponse
from ingest_worker.clock import Clock
from ingest_worker.gate import (
    PROBE_CAP,
    ConsumptionGate,
    DependencyFault,
    Stopping,
    probe_delay,
)
from ingest_worker.logs import JsonLog
from ingest_worker.stats import Counters

from harness.local_aws import INDEX, LogCapture, wait_for

SPEED = 120.0
PRODUCTION_VISIBILITY = 900


# -- the schedule and the gate, without AWS ---------------------------------------------------

def test_probes_back_off_exponentially_up_to_one_a_minute():
    middle = [probe_delay(n, rand=lambda: 0.5) for n in range(9)]
    assert middle == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert probe_delay(3, rand=lambda: 0.0) == pytest.approx(6.4)
    assert probe_delay(30, rand=lambda: 1.0) == pytest.approx(PROBE_CAP * 1.2)


def gate(speed: float = 1000.0) -> tuple[ConsumptionGate, LogCapture, threading.Event]:
    logs, stop = LogCapture(), threading.Event()
    g = ConsumptionGate(log=JsonLog("DEBUG", stream=logs), counters=Counters(),
                        clock=Clock(speed), stop_event=stop)
    return g, logs, stop


def test_a_short_fault_is_retried_in_process_without_pausing():
    g, logs, _ = gate()
    answers = iter([DependencyFault("index", "es_rejected_execution_exception"), "ok"])

    def op():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert g.call(op) == "ok" and logs.lines == [] and g.is_open()


def test_a_lasting_fault_pauses_until_the_probe_answers_then_resumes_by_itself():
    g, logs, _ = gate()
    calls = []

    def op():
        calls.append(1)
        if len(calls) < 9:  # 5 tries in-process, then 3 failed probes
            raise DependencyFault("bucket", "AccessDenied", "Access Denied")
        assert not g.is_open()  # the receivers wait meanwhile
        return "object"

    assert g.call(op) == "object" and g.is_open()
    (paused,) = logs.events("consumption_paused")
    assert (paused["dependency"], paused["error"], paused["level"]) == ("bucket", "AccessDenied",
                                                                         "WARNING")
    (resumed,) = logs.events("consumption_resumed")
    assert resumed["dependency"] == "bucket" and resumed["paused_seconds"] > 0


def test_a_probe_answering_with_the_messages_own_fault_resumes_and_passes_it_on():
    g, logs, _ = gate()
    calls = []

    def op():
        calls.append(1)
        if len(calls) < 7:
            raise DependencyFault("bucket", "AccessDenied")
        raise LookupError("NoSuchKey: the object is gone now")

    with pytest.raises(LookupError):
        g.call(op)
    assert g.is_open() and len(logs.events("consumption_resumed")) == 1


class ManualClock(Clock):
    """Worker time that moves only when the worker waits: a whole outage runs instantly."""

    def __init__(self) -> None:
        super().__init__()
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def wait(self, event: threading.Event, seconds: float) -> bool:
        self.t += max(0.0, seconds)
        return event.is_set()


def test_a_pause_is_logged_again_every_minute_until_it_ends():
    logs, clock = LogCapture(), ManualClock()
    g = ConsumptionGate(log=JsonLog("INFO", stream=logs), counters=Counters(), clock=clock,
                        stop_event=threading.Event())
    seen = {"t": 0.0}

    def index_down_for_30_minutes():
        # The worker's main loop calls remind() once a second: replay those calls up to now.
        now = clock.t
        for second in range(int(seen["t"]) + 1, int(now) + 1):
            clock.t = float(second)
            g.remind()
        clock.t = seen["t"] = now
        if now < 30 * 60:
            raise DependencyFault("index", "ConnectionError")
        return "answered"

    assert g.call(index_down_for_30_minutes) == "answered" and g.is_open()
    since = [e["paused_seconds"] for e in logs.events("consumption_paused")]
    assert since[0] == 0 and len(since) >= 30
    # Every minute of the pause has a line: 55-60 s apart (paused_seconds has one decimal).
    assert all(54.9 <= b - a <= 60.1 for a, b in itertools.pairwise(since))
    (resumed,) = logs.events("consumption_resumed")
    assert resumed["paused_seconds"] >= 30 * 60 - 10


def test_stopping_while_paused_gives_up_the_wait():
    g, _, stop = gate(speed=1.0)
    threading.Timer(0.3, stop.set).start()

    def down():
        raise DependencyFault("index", "ConnectionError")

    started = time.monotonic()
    with pytest.raises(Stopping):
        g.call(down)
    assert time.monotonic() - started < 5


def test_message_faults_pass_through_untouched():
    g, logs, _ = gate()

    def poison():
        raise KeyError("not a dependency fault")

    with pytest.raises(KeyError):
        g.call(poison)
    assert logs.lines == []


# -- outages on moto --------------------------------------------------------------------------

def _outage_env(aws, fake_os):
    return aws.env(fake_os, WORKER_CONCURRENCY=8, WORKER_VISIBILITY_TIMEOUT_SECONDS=900,
                   WORKER_LOG_LEVEL="INFO")


def _upload(aws, n: int, prefix: str) -> list[str]:
    keys = [f"raw-files/{prefix}-{i:03d}.txt" for i in range(n)]
    for key in keys:
        aws.put(key, key.encode())
    return keys


def _drain_and_stop(w, aws, fake_os, n: int) -> None:
    wait_for(lambda: len(fake_os.docs(INDEX)) == n, timeout=90, what="all indexed")
    wait_for(lambda: aws.depth() == 0, timeout=30, what="queue empty")
    w.stop()


def _pause_causes(w) -> set[tuple[str, str]]:
    return {(e["dependency"], e["error"]) for e in w.logs.events("consumption_paused")}


def _assert_every_file_indexed_once_and_nothing_dead(w, aws, fake_os, keys):
    assert aws.drain_dlq() == []
    assert w.logs.events("message_failed") == [] and w.logs.events("sent_to_dlq") == []
    processed = [e for e in w.processed() if e["key"]]
    assert sorted(e["key"] for e in processed if e["outcome"] == "indexed") == keys
    # moto's ReceiveMessage takes no lock: two concurrent receives can return the same message
    # (SQS's at-least-once, made frequent). Such a second copy finds its document written.
    assert {e["outcome"] for e in processed} <= {"indexed", "unchanged"}
    assert len(fake_os.docs(INDEX)) == len(keys) and fake_os.writes == len(keys)


def _worker_seconds_between(w, real_start: float, real_end: float) -> float:
    return (real_end - real_start) * w.clock.speed


def test_30_minute_index_outage_with_production_visibility_sends_nothing_to_the_dlq(
        make_aws, fake_os, run_worker):
    aws = make_aws(visibility=PRODUCTION_VISIBILITY)
    with run_worker(_outage_env(aws, fake_os), speed=SPEED) as w:
        wait_for(lambda: w.logs.events("index_ready"), what="index ready")
        # moto's s3:TestEvent (sent when the notification was configured) must be consumed
        # before the outage, or it waits in the queue beside the 100 files on a slow machine.
        wait_for(lambda: aws.depth() == 0, timeout=30, what="test event consumed")
        fake_os.down = True
        keys = _upload(aws, 100, "outage")
        wait_for(lambda: w.logs.events("consumption_paused"), timeout=30, what="paused")
        outage_end = time.monotonic() + 30 * 60 / SPEED
        while time.monotonic() < outage_end:
            time.sleep(0.2)
        # Nothing was deleted or dead-lettered: the backlog stays in the main queue (the
        # depth and age alarms see it), the worker holds at most max_in_flight of it.
        assert aws.depth() == 100 and len(w.worker.in_flight) <= w.cfg.max_in_flight
        fake_os.down = False
        recovered = time.monotonic()
        wait_for(lambda: w.logs.events("consumption_resumed"), timeout=10, what="resumed")
        resumed_real = time.monotonic()
        _drain_and_stop(w, aws, fake_os, 100)
    _assert_every_file_indexed_once_and_nothing_dead(w, aws, fake_os, keys)
    assert _pause_causes(w) == {("index", "ConnectionError")}
    paused = w.logs.events("consumption_paused")
    # Logged on pausing and again about once a minute while paused (the pause alarm counts
    # minutes with a line). At 120 x, a 0.1 s stall of this busy machine is 12 s of worker
    # time, so the test checks the count and the lower bound of the spacing, not the upper.
    assert paused[0]["paused_seconds"] == 0 and len(paused) >= 25
    since = [e["paused_seconds"] for e in paused]
    # paused_seconds is rounded to one decimal, so two lines 55 s apart may differ by 54.9
    # (and float subtraction of the rounded values gives 54.99999999999999 for 55).
    assert min(b - a for a, b in itertools.pairwise(since)) >= 55 - 0.1 - 1e-9
    resumed = w.logs.events("consumption_resumed")
    assert resumed and resumed[0]["paused_seconds"] >= 29 * 60
    # Probes are at most a minute apart (+20 % jitter): recovery is seen within one, plus up to
    # 5 s of real time for this shared machine (at 120 x its stalls weigh 120 times as much).
    assert _worker_seconds_between(w, recovered, resumed_real) <= PROBE_CAP * 1.2 + 5 * SPEED
    counts = w.logs.events("worker_stopped")[0]["counts"]
    assert counts["visibility_extended"] >= 1  # held messages stayed invisible throughout
    # Probes, not retries per message: each waiting round (2 pipelines x this round and the
    # next) tries 5 times in-process, then probes at 1, 2, 4 ... s and at least 48 s apart.
    probes = fake_os.count(path_part="_mget")
    assert probes <= 4 * (5 + 6 + 30 * 60 // 48 + 1) + 20


def _deny_get_object(client, denied: threading.Event, denials: list) -> None:
    """S3 answers 403 AccessDenied (as for a key policy or bucket policy change) while
    `denied` is set. Injected at botocore's before-send: the answer goes through botocore's real
    parsing, retry and error path; moto's server does not enforce IAM or bucket policies."""
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            b"<Message>Access Denied</Message><RequestId>R</RequestId></Error>")

    def answer(request, **_):
        if denied.is_set():
            denials.append(request.url)
            return AWSResponse(request.url, 403, {"Content-Type": "application/xml"},
                               _Raw(body))
        return None

    client.meta.events.register("before-send.s3.GetObject", answer)


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_):
        yield self.data


def test_30_minute_s3_access_denied_pauses_and_resumes_without_the_dlq(
        make_aws, fake_os, run_worker):
    aws = make_aws(visibility=PRODUCTION_VISIBILITY)
    denied, denials = threading.Event(), []
    with run_worker(_outage_env(aws, fake_os), speed=SPEED) as w:
        _deny_get_object(w.worker.s3, denied, denials)
        wait_for(lambda: w.logs.events("index_ready"), what="index ready")
        denied.set()
        keys = _upload(aws, 40, "denied")
        wait_for(lambda: w.logs.events("consumption_paused"), timeout=30, what="paused")
        time.sleep(30 * 60 / SPEED)
        denied.clear()
        _drain_and_stop(w, aws, fake_os, 40)
    _assert_every_file_indexed_once_and_nothing_dead(w, aws, fake_os, keys)
    assert _pause_causes(w) == {("bucket", "AccessDenied")}
    assert w.logs.events("consumption_resumed")[0]["paused_seconds"] >= 29 * 60
    # While paused only the probes ask S3 (a few per minute), not every held message.
    assert len(denials) < 200


def test_10_minutes_of_30_percent_throttled_index_requests_lose_nothing(
        make_aws, fake_os, run_worker):
    aws = make_aws(visibility=PRODUCTION_VISIBILITY)
    with run_worker(_outage_env(aws, fake_os), speed=SPEED) as w:
        wait_for(lambda: w.logs.events("index_ready"), what="index ready")
        fake_os.throttle(0.3)
        keys = _upload(aws, 120, "throttled")
        time.sleep(10 * 60 / SPEED)
        fake_os.throttle(0.0)
        _drain_and_stop(w, aws, fake_os, 120)
    _assert_every_file_indexed_once_and_nothing_dead(w, aws, fake_os, keys)
    counts = w.logs.events("worker_stopped")[0]["counts"]
    assert counts["in_process_retries"] >= 1
    # No re-download on a retry: one GetObject per delivery. moto may deliver a message twice
    # (see above); that copy is downloaded again and ends "unchanged".
    deliveries = [e for e in w.processed() if e["key"]]
    assert w.logs.events("worker_stopped")[0]["calls"]["s3.GetObject"] == len(deliveries)
    assert len(deliveries) - len(keys) == len(w.processed("unchanged"))


def test_a_write_block_pauses_and_lifting_it_resumes(aws, fake_os, run_worker):
    with run_worker(aws.env(fake_os), speed=SPEED) as w:
        wait_for(lambda: w.logs.events("index_ready"), what="index ready")
        fake_os.block_writes("index")
        keys = _upload(aws, 5, "blocked")
        wait_for(lambda: w.logs.events("consumption_paused"), timeout=30, what="paused")
        fake_os.block_writes(None)
        _drain_and_stop(w, aws, fake_os, 5)
    _assert_every_file_indexed_once_and_nothing_dead(w, aws, fake_os, keys)
    assert _pause_causes(w) == {("index", "cluster_block_exception")}
