"""The worker's lifecycle: start the pipelines and the heartbeat, stop and drain.

Each pipeline thread runs rounds (rounds.py) and overlaps them with SQS:
  - while a round fetches and indexes, the pipeline's next batch is already being received
    (receive.py, on the receive pool), so a round starts as soon as the previous one ends;
  - settling (deletes, DLQ) runs on the settle pool and never holds up the next round;
  - the fetch pool is shared by all pipelines, so it stays fed.
Receiving waits while a dependency is paused (gate.py) and while `max_in_flight`
messages are held. A heartbeat thread (heartbeat.py) keeps every held message invisible.
Once a minute the main loop logs whether the worker is consuming (liveness.py).
"""
from __future__ import annotations

import concurrent.futures
import socket
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from .clock import Clock
from .config import Config
from .extraction import Limits
from .extraction.sandbox import ExtractorPool, SandboxSettings
from .faults import error_code
from .fetch import ObjectFetcher
from .gate import ConsumptionGate, DependencyFault, Stopping
from .heartbeat import Heartbeat
from .held import InFlight
from .index import OpenSearch, SearchRequestError
from .liveness import AliveReporter, Liveness
from .logs import JsonLog
from .outcomes import ReceivedMessage
from .receive import RECEIVE_BATCH, Consumer
from .rounds import RoundProcessor
from .settle import Settler
from .stats import Counters


class Worker:
    def __init__(self, cfg: Config, log: JsonLog, sqs: Any, s3: Any, search: OpenSearch,
                 on_stopped: Optional[Callable[[], None]] = None,
                 clock: Optional[Clock] = None, instance_id: Optional[str] = None) -> None:
        self.cfg = cfg
        self.log = log
        self.sqs = sqs
        self.s3 = s3
        self.search = search
        self.on_stopped = on_stopped
        self.clock = clock or Clock()
        self.stop_event = threading.Event()
        self._stop_reason: Optional[str] = None
        self.counters = Counters()
        for client in (sqs, s3):
            self.counters.watch_calls(client)
        self.in_flight = InFlight()
        self._rounds_running = 0
        self._rounds_lock = threading.Lock()
        self._fetch_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=cfg.concurrency, thread_name_prefix="fetch")
        self._receive_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=cfg.pipelines, thread_name_prefix="receive")
        self._settle_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(2, cfg.pipelines), thread_name_prefix="settle")
        self.gate = ConsumptionGate(log=log, counters=self.counters, clock=self.clock,
                                    stop_event=self.stop_event)
        self.settler = Settler(sqs=sqs, queue_url=cfg.queue_url, dlq_url=cfg.dlq_url,
                               visibility_timeout=cfg.visibility_timeout, log=log,
                               counters=self.counters, on_settled=self.in_flight.forget)
        self.consumer = Consumer(sqs=sqs, queue_url=cfg.queue_url, wait_time=cfg.wait_time,
                                 visibility_timeout=cfg.visibility_timeout,
                                 in_flight=self.in_flight, stop_event=self.stop_event,
                                 clock=self.clock)
        # Untrusted files are parsed in sandboxed processes (extraction/sandbox.py).
        self.extractor = ExtractorPool(SandboxSettings(
            processes=cfg.extract_processes, memory_bytes=cfg.extract_memory_mb << 20,
            cpu_seconds=cfg.extract_cpu_seconds, wall_seconds=cfg.extract_timeout_seconds,
            limits=Limits(max_chars=cfg.extract_max_chars,
                          zip_max_ratio=cfg.extract_zip_max_ratio)))
        self.rounds = RoundProcessor(
            prefix=cfg.prefix,
            fetcher=ObjectFetcher(s3, cfg.max_object_bytes, cfg.expected_bucket_owner,
                                  extractor=self.extractor,
                                  max_bytes_by_kind=cfg.max_bytes_by_kind(),
                                  tmp_dir=cfg.extract_tmpdir),
            search=search, fetch_pool=self._fetch_pool, settler=self.settler, gate=self.gate,
            in_flight=self.in_flight, log=log, counters=self.counters,
            settle_pool=self._settle_pool)
        self.heartbeat = Heartbeat(in_flight=self.in_flight, settler=self.settler,
                                   visibility_timeout=cfg.visibility_timeout, log=log,
                                   counters=self.counters, clock=self.clock)
        # A poll returns within wait_time plus the client's timeouts and retries; a round may
        # last the longest job, which the deploy keeps below the visibility timeout.
        self.liveness = Liveness(clock=self.clock, stall_seconds=max(120.0, 3.0 * cfg.wait_time),
                                 round_limit_seconds=float(cfg.visibility_timeout))
        self.alive = AliveReporter(log=log, liveness=self.liveness,
                                   instance_id=instance_id or socket.gethostname())

    def stats(self) -> Dict[str, Any]:
        snap = self.counters.snapshot()
        calls = snap["calls"]
        return {
            "sqs_calls": sum(v for k, v in calls.items() if k.startswith("sqs.")),
            "s3_calls": sum(v for k, v in calls.items() if k.startswith("s3.")),
            "index_requests": self.search.requests,
            "calls": calls,
            "counts": snap["counts"],
        }

    def held_count(self) -> int:
        return len(self.in_flight)

    # -- lifecycle ---------------------------------------------------------------------------

    def request_stop(self, reason: str = "signal") -> None:
        """Safe to call from a signal handler: only sets flags; run() logs."""
        if self._stop_reason is None:
            self._stop_reason = reason
        self.stop_event.set()

    def run(self) -> int:
        cfg = self.cfg
        self.log.info("worker_started", "Worker started", queue_url=cfg.queue_url,
                      index=cfg.opensearch_index, concurrency=cfg.concurrency,
                      pipelines=cfg.pipelines, max_in_flight=cfg.max_in_flight,
                      visibility_timeout=cfg.visibility_timeout)
        if not self._await_write_alias():
            return self._finish(drained=True)
        self.heartbeat.start()
        pipelines = [threading.Thread(target=self._pipeline_loop, name=f"pipeline-{i}",
                                      daemon=True) for i in range(cfg.pipelines)]
        for t in pipelines:
            t.start()
        while not self.clock.wait(self.stop_event, 1.0):
            self.gate.remind()
            self.alive.tick(pipelines, paused=not self.gate.is_open())
            if not any(t.is_alive() for t in pipelines):
                self.log.error("worker_crashed", "All pipeline threads ended unexpectedly")
                self.request_stop("crashed")
        self.log.info("worker_stopping", "Stop requested: no new receives, draining",
                      reason=self._stop_reason or "unknown", in_flight=self.held_count())
        # Drained when no round runs and nothing is held. A pipeline still waiting in a long
        # poll holds nothing: the worker does not wait for it (whatever that poll returns
        # after the stop is given back at once).
        deadline = time.monotonic() + cfg.shutdown_timeout
        while not self._idle() and time.monotonic() < deadline:
            time.sleep(0.05)
        drained = self._idle()
        if not drained:
            self.log.warning("shutdown_timeout", "In-flight work did not finish in time; "
                             "releasing held messages", in_flight=self.held_count())
            self.settler.change_visibility(self.in_flight.all(), lambda m: 0)
        return self._finish(drained)

    def _idle(self) -> bool:
        with self._rounds_lock:
            return self._rounds_running == 0 and len(self.in_flight) == 0

    def _finish(self, drained: bool) -> int:
        self.heartbeat.stop()
        self._fetch_pool.shutdown(wait=drained)
        self._settle_pool.shutdown(wait=drained)
        self._receive_pool.shutdown(wait=False)
        self.extractor.close()
        if self.on_stopped is not None:
            try:
                self.on_stopped()
            except Exception as exc:  # the worker still stops cleanly
                self.log.error("lifecycle_failed", f"Could not complete lifecycle action: {exc}",
                               error=type(exc).__name__)
        self.log.info("worker_stopped", "Worker stopped", drained=drained, **self.stats())
        return 0

    def _await_write_alias(self) -> bool:
        """Wait until the write alias exists; the worker never creates indices (the deploy
        does). A missing alias is an environment fault: consumption stays paused
        (consumption_paused, error index_alias_missing, logged again every minute for the
        alarm) and the alias is probed until it appears. False if stopped meanwhile."""
        ready = threading.Event()
        found: List[str] = []

        def check() -> None:
            try:
                found.append(self.gate.call(self._check_write_alias))
            except Stopping:
                pass
            finally:
                ready.set()

        threading.Thread(target=check, name="alias-check", daemon=True).start()
        while not self.clock.wait(ready, 1.0):
            self.gate.remind()
            self.alive.tick([], paused=not self.gate.is_open())
        if not found:
            return False
        self.log.info("index_ready", "Index is ready", index=self.cfg.opensearch_index,
                      concrete_index=found[0])
        return True

    def _check_write_alias(self) -> str:
        try:
            return self.search.check_write_alias()
        except SearchRequestError as exc:
            raise DependencyFault(DependencyFault.INDEX, exc.code, str(exc)) from None

    # -- pipelines ---------------------------------------------------------------------------

    def _pipeline_loop(self) -> None:
        ahead: Optional[concurrent.futures.Future] = None
        while not self.stop_event.is_set():
            if ahead is not None:
                batch, ahead = ahead.result(), None
            else:
                batch = self._receive()
            if not batch:
                continue
            if not self.stop_event.is_set():
                # The next batch is received while this one is worked on.
                ahead = self._receive_pool.submit(self._receive)
            self._run_round(batch)

    def _receive(self) -> List[ReceivedMessage]:
        """The next batch, once consumption is open and there is room; [] when stopping."""
        backoff = 1.0
        while not self.stop_event.is_set():
            self.liveness.receive_loop()
            if not self.gate.wait_open(0.5):
                continue
            if not self.in_flight.wait_below(self.cfg.max_in_flight - 2 * RECEIVE_BATCH + 1, 0.5):
                continue
            try:
                batch = self.consumer.next_batch()
            except Exception as exc:
                self.log.warning("receive_failed", f"ReceiveMessage failed: {exc}",
                                 error=error_code(exc))
                self.clock.wait(self.stop_event, backoff)
                backoff = min(backoff * 2, 20.0)
                continue
            if batch and self.stop_event.is_set():
                self.settler.give_back(batch)
                return []
            if batch:
                return batch
        return []

    def _run_round(self, batch: List[ReceivedMessage]) -> None:
        with self._rounds_lock:
            self._rounds_running += 1
        token = self.liveness.round_started()
        try:
            self.rounds.process(batch)
        except Exception as exc:
            self.rounds.give_back_after_bug(batch, exc)
        finally:
            self.liveness.round_ended(token)
            with self._rounds_lock:
                self._rounds_running -= 1
