"""liveness.py: the once-a-minute worker_alive / worker_stalled line that finds a hung worker."""
from __future__ import annotations

import io
import json
import socket
import threading
import time
import urllib.error

from ingest_worker.liveness import AliveReporter, Liveness, this_instance
from ingest_worker.logs import JsonLog

from harness.local_aws import wait_for


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t


class Wall:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _setup(wall_start: float = 1_800_000_000.0):
    clock, wall, stream = FakeClock(), Wall(wall_start), io.StringIO()
    liveness = Liveness(clock=clock, stall_seconds=120, round_limit_seconds=900)
    reporter = AliveReporter(log=JsonLog("INFO", stream=stream), liveness=liveness,
                             instance_id="i-0123456789abcdef0", wall=wall)
    return clock, wall, stream, liveness, reporter


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _running_thread() -> threading.Thread:
    done = threading.Event()
    thread = threading.Thread(target=done.wait, name="pipeline-0", daemon=True)
    thread.start()
    thread.done = done
    return thread


def test_one_line_per_wall_clock_minute_in_the_middle_of_the_minute():
    clock, wall, stream, liveness, reporter = _setup(1_800_000_010.0)   # hh:mm:10
    thread = _running_thread()
    try:
        stamps = []
        for second in range(0, 4 * 60):                # ticks every second for four minutes
            wall.t = 1_800_000_010.0 + second
            clock.t = 1000.0 + second
            liveness.receive_loop()
            before = len(_lines(stream))
            reporter.tick([thread], paused=False)
            if len(_lines(stream)) > before:
                stamps.append(wall.t)
    finally:
        thread.done.set()
    # Not at start (that minute would count the worker twice), then at :30 of each minute.
    assert [t % 60 for t in stamps] == [30, 30, 30, 30]
    assert len({int(t // 60) for t in stamps}) == len(stamps)
    assert all(r["event"] == "worker_alive" and r["instance_id"] == "i-0123456789abcdef0"
               for r in _lines(stream))


def _report(reporter: AliveReporter, wall: Wall, threads, paused: bool = False) -> dict:
    wall.t += 60
    reporter.tick(threads, paused)
    return _lines(reporter.log._stream)[-1]


def test_a_receive_loop_that_stops_coming_round_is_reported_stalled():
    clock, wall, stream, liveness, reporter = _setup()
    thread = _running_thread()
    try:
        reporter.tick([thread], False)
        clock.t += 119
        assert _report(reporter, wall, [thread])["event"] == "worker_alive"
        clock.t += 2
        stalled = _report(reporter, wall, [thread])
        assert stalled["event"] == "worker_stalled" and stalled["level"] == "ERROR"
        assert stalled["reasons"] == ["no receive for 121 s (limit 120 s)"]
        assert stalled["instance_id"] == "i-0123456789abcdef0"
        liveness.receive_loop()
        assert _report(reporter, wall, [thread])["event"] == "worker_alive"
    finally:
        thread.done.set()


def test_a_round_may_take_the_longest_job_but_not_longer_than_the_visibility_timeout():
    clock, wall, stream, liveness, reporter = _setup()
    thread = _running_thread()
    try:
        reporter.tick([thread], False)
        token = liveness.round_started()
        clock.t += 600                                  # a legitimate 10-minute job
        assert _report(reporter, wall, [thread])["event"] == "worker_alive"
        clock.t += 301
        stalled = _report(reporter, wall, [thread])
        assert stalled["reasons"] == ["a round has run for 901 s (limit 900 s)"]
        liveness.round_ended(token)
        assert _report(reporter, wall, [thread])["event"] == "worker_alive"
    finally:
        thread.done.set()


def test_a_paused_worker_is_not_stalled_but_a_dead_pipeline_always_is():
    clock, wall, stream, liveness, reporter = _setup()
    thread = _running_thread()
    reporter.tick([thread], False)
    clock.t += 3600
    assert _report(reporter, wall, [thread], paused=True)["event"] == "worker_alive"
    thread.done.set()
    thread.join()
    liveness.receive_loop()
    stalled = _report(reporter, wall, [thread], paused=True)
    assert stalled["reasons"] == ["pipeline-0 ended"]


def test_the_instance_id_comes_from_imds_on_a_group_and_falls_back_to_the_host_name():
    stream = io.StringIO()
    log = JsonLog("INFO", stream=stream)
    assert this_instance("group", log, lookup=lambda: "i-0abc") == "i-0abc"

    def unreachable() -> str:
        raise urllib.error.URLError("timed out")

    fallback = this_instance("group", log, lookup=unreachable)
    assert fallback and not fallback.startswith("i-0abc")
    (warning,) = _lines(stream)
    assert warning["event"] == "instance_id_unknown"
    assert this_instance(None, log, lookup=lambda: "never") != "never"   # local runs: no IMDS


def test_the_running_worker_reports_alive_and_a_round_that_outlives_the_visibility_timeout(
        make_aws, fake_os, run_worker):
    """The real worker against moto: worker_alive lines while it consumes, worker_stalled while
    one round runs past the visibility timeout (2 s here), alive again once it ended. Its wall
    clock runs 60 times fast, so each second is a minute of lines."""
    aws = make_aws(visibility=2)
    fake_os.after_bulk = lambda: time.sleep(5)
    with run_worker(aws.env(fake_os)) as w:
        w.worker.alive.wall = lambda: time.time() * 60
        wait_for(lambda: w.logs.events("worker_alive"), timeout=10, what="alive")
        aws.put("raw-files/slow.txt")
        wait_for(lambda: w.logs.events("worker_stalled"), timeout=20, what="stalled")
        wait_for(lambda: w.processed("indexed"), timeout=20, what="indexed")
        after = len(w.logs.events("worker_alive"))
        wait_for(lambda: len(w.logs.events("worker_alive")) > after + 1, timeout=10,
                 what="alive again")
        w.stop()
    stalled = w.logs.events("worker_stalled")
    assert all(r.startswith("a round has run for") for e in stalled for r in e["reasons"])
    assert {e["instance_id"] for e in w.logs.events("worker_alive") + stalled} == {
        socket.gethostname()}
