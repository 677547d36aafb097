"""The worker's lifecycle: start the pipelines and the heartbeat, stop and drain.

Flow of one round (each pipeline thread runs rounds one after another, see rounds.py):
  receive up to 2 x 10 messages (consumer.py) -> parse -> GetObject in parallel (fetch.py) ->
  one _mget, plan (planning.py), one _bulk -> settle with SQS (settle.py): delete what is
  finished, DLQ for poison, short visibility for transient failures.
A heartbeat thread (heartbeat.py) extends the visibility of every held message before it expires.
"""
from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any, Callable, Dict, Optional

from .config import Config
from .consumer import Consumer
from .fetch import ObjectFetcher, error_code
from .heartbeat import Heartbeat, InFlight
from .logs import JsonLog
from .messages import Retry
from .opensearch import OpenSearch, SearchRequestError
from .rounds import RoundProcessor
from .settle import Settler
from .stats import Counters


class Worker:
    def __init__(self, cfg: Config, log: JsonLog, sqs: Any, s3: Any, search: OpenSearch,
                 on_stopped: Optional[Callable[[], None]] = None) -> None:
        self.cfg = cfg
        self.log = log
        self.sqs = sqs
        self.s3 = s3
        self.search = search
        self.on_stopped = on_stopped
        self.stop_event = threading.Event()
        self._stop_reason: Optional[str] = None
        self.counters = Counters()
        for client in (sqs, s3):
            self.counters.watch_calls(client)
        self.in_flight = InFlight()
        self._fetch_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=cfg.concurrency, thread_name_prefix="fetch")
        self.settler = Settler(sqs=sqs, queue_url=cfg.queue_url, dlq_url=cfg.dlq_url,
                               visibility_timeout=cfg.visibility_timeout, log=log,
                               counters=self.counters, on_settled=self.in_flight.forget)
        self.consumer = Consumer(sqs=sqs, queue_url=cfg.queue_url, wait_time=cfg.wait_time,
                                 visibility_timeout=cfg.visibility_timeout,
                                 in_flight=self.in_flight, stop_event=self.stop_event)
        self.rounds = RoundProcessor(
            prefix=cfg.prefix, fetcher=ObjectFetcher(s3, cfg.max_object_bytes), search=search,
            fetch_pool=self._fetch_pool, settler=self.settler, log=log, counters=self.counters)
        self.heartbeat = Heartbeat(in_flight=self.in_flight, settler=self.settler,
                                   visibility_timeout=cfg.visibility_timeout, log=log,
                                   counters=self.counters)

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
        if not self._ensure_index():
            return self._finish(drained=True)
        self.heartbeat.start()
        pipelines = [threading.Thread(target=self._pipeline_loop, name=f"pipeline-{i}",
                                      daemon=True) for i in range(cfg.pipelines)]
        for t in pipelines:
            t.start()
        while not self.stop_event.wait(0.5):
            if not any(t.is_alive() for t in pipelines):
                self.log.error("worker_crashed", "All pipeline threads ended unexpectedly")
                self.request_stop("crashed")
        self.log.info("worker_stopping", "Stop requested: no new receives, draining",
                      reason=self._stop_reason or "unknown", in_flight=self.held_count())
        deadline = time.monotonic() + cfg.shutdown_timeout
        for t in pipelines:
            t.join(max(0.0, deadline - time.monotonic()))
        drained = not any(t.is_alive() for t in pipelines)
        if not drained:
            self.log.warning("shutdown_timeout", "In-flight work did not finish in time; "
                             "releasing held messages", in_flight=self.held_count())
            self.settler.change_visibility(self.in_flight.all(), lambda m: 0)
        return self._finish(drained)

    def _finish(self, drained: bool) -> int:
        self._fetch_pool.shutdown(wait=drained)
        if self.on_stopped is not None:
            try:
                self.on_stopped()
            except Exception as exc:  # the worker still stops cleanly
                self.log.error("lifecycle_failed", f"Could not complete lifecycle action: {exc}",
                               error=type(exc).__name__)
        self.log.info("worker_stopped", "Worker stopped", drained=drained, **self.stats())
        return 0

    def _ensure_index(self) -> bool:
        delay = 1.0
        while not self.stop_event.is_set():
            try:
                created = self.search.ensure_index()
                self.log.info("index_ready", "Index is ready", index=self.cfg.opensearch_index,
                              created=created)
                return True
            except SearchRequestError as exc:
                self.log.warning("index_unavailable", f"Cannot create or reach the index: {exc}",
                                 error=exc.code, transient=exc.transient)
            self.stop_event.wait(delay)
            delay = min(delay * 2, 30.0)
        return False

    def _pipeline_loop(self) -> None:
        backoff = 1.0
        while not self.stop_event.is_set():
            try:
                batch = self.consumer.next_batch()
                backoff = 1.0
            except Exception as exc:
                self.log.warning("receive_failed", f"ReceiveMessage failed: {exc}",
                                 error=error_code(exc))
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 20.0)
                continue
            if not batch:
                continue
            try:
                self.rounds.process(batch)
            except Exception as exc:  # a bug must not strand messages until they expire
                self.log.error("round_failed", f"Unexpected error in a round: {exc!r}",
                               error=type(exc).__name__)
                retry = Retry(type(exc).__name__)
                self.settler.release([(m, retry) for m in batch if m in self.in_flight])
