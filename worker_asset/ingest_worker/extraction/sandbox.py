"""A pool of extraction processes with resource limits: a hostile file costs one file's text,
never the worker.

Each process is started with the "spawn" method (a fresh interpreter: no locks or threads
inherited from the worker) and sets its own limits: address space (RLIMIT_AS) for the whole
process, and before every file a CPU-time limit (RLIMIT_CPU; the kernel ends a parser stuck in
C code with SIGXCPU). The worker thread that submitted the file waits at most the wall-clock
timeout and then kills the process. A process that crashed, hit a limit or timed out is
replaced by a new one on next use, and every process is recycled after `max_jobs` files so that
a slow leak in a parser cannot accumulate. Results are capped at `Limits.max_chars` inside the
process before they cross the pipe.
"""
from __future__ import annotations

import dataclasses
import importlib
import multiprocessing
import os
import queue
import signal
import threading
import time
from typing import Any, Callable, Optional

from . import FAILED, TIMEOUT, TOO_LARGE, Extraction, Limits

DEFAULT_TARGET = "ingest_worker.extraction.dispatch:extract_file"


@dataclasses.dataclass(frozen=True)
class SandboxSettings:
    processes: int = 2
    memory_bytes: int = 1024 << 20
    cpu_seconds: int = 60
    wall_seconds: float = 120.0
    max_jobs: int = 500
    limits: Limits = dataclasses.field(default_factory=Limits)


def _resolve(target: str) -> Callable[..., Extraction]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _child(conn: Any, memory_bytes: int, target: str) -> None:
    """The loop of one extraction process: receive a job, run it, send the result."""
    import resource

    # The worker's SIGTERM drains in-flight work; systemd sends it to the whole unit, so the
    # children ignore it and end when the worker closes their pipe.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    func = _resolve(target)
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        path, key, limits, cpu_seconds = job
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = int(usage.ru_utime + usage.ru_stime) + cpu_seconds + 1
        if cpu_hard != resource.RLIM_INFINITY:
            soft = min(soft, cpu_hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, cpu_hard))
        try:
            result = func(path, key, limits)
        except MemoryError:
            result = Extraction(status=TOO_LARGE, error="the extraction's memory limit was reached")
        except BaseException as exc:  # noqa: BLE001 - whatever a parser raises is one file's
            result = Extraction(status=FAILED, error=f"{type(exc).__name__}: {str(exc)[:300]}")
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            conn.send((result, peak_kb))
        except MemoryError:
            conn.send((Extraction(status=TOO_LARGE, error="result too large to return"), peak_kb))


class _Slot:
    def __init__(self) -> None:
        self.process: Optional[multiprocessing.process.BaseProcess] = None
        self.conn: Any = None
        self.jobs = 0


class ExtractorPool:
    """Thread-safe: any number of threads call `extract`; at most `processes` run at once."""

    def __init__(self, settings: SandboxSettings, target: str = DEFAULT_TARGET) -> None:
        self.settings = settings
        self.target = target
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: "queue.LifoQueue[_Slot]" = queue.LifoQueue()
        self._slots = [_Slot() for _ in range(max(1, settings.processes))]
        for slot in self._slots:
            self._idle.put(slot)
        self._lock = threading.Lock()
        self.restarts = 0
        self.peak_rss_kb = 0

    # -- public ------------------------------------------------------------------------------

    def extract(self, path: str, key: str) -> Extraction:
        slot = self._idle.get()
        try:
            return self._run(slot, path, key)
        finally:
            self._idle.put(slot)

    def close(self) -> None:
        for slot in self._slots:
            self._stop(slot)

    # -- internals ---------------------------------------------------------------------------

    def _start(self, slot: _Slot) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(target=_child, name="extract",
                                    args=(child, self.settings.memory_bytes, self.target),
                                    daemon=True)
        process.start()
        child.close()
        slot.process, slot.conn, slot.jobs = process, parent, 0

    def _stop(self, slot: _Slot, kill: bool = False) -> Optional[int]:
        process, conn = slot.process, slot.conn
        slot.process = slot.conn = None
        if process is None:
            return None
        if conn is not None:
            conn.close()  # a healthy child sees EOF and returns
        if kill:
            process.kill()
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join(5)
        return process.exitcode

    def _run(self, slot: _Slot, path: str, key: str) -> Extraction:
        s = self.settings
        if slot.process is None or not slot.process.is_alive():
            if slot.process is not None:
                self._stop(slot)
                self.restarts += 1
            self._start(slot)
        try:
            slot.conn.send((path, key, s.limits, s.cpu_seconds))
        except OSError:  # the process ended between two files: start another once
            self._stop(slot, kill=True)
            self.restarts += 1
            self._start(slot)
            slot.conn.send((path, key, s.limits, s.cpu_seconds))
        started = time.monotonic()
        if not slot.conn.poll(s.wall_seconds):
            self._stop(slot, kill=True)
            self.restarts += 1
            return Extraction(status=TIMEOUT, error=f"no result within {s.wall_seconds:g} s "
                                                    "(wall-clock limit); the parser was stopped")
        try:
            result, peak_kb = slot.conn.recv()
        except (EOFError, OSError):
            result, peak_kb = self._crashed(slot, time.monotonic() - started), 0
        with self._lock:
            self.peak_rss_kb = max(self.peak_rss_kb, peak_kb)
        slot.jobs += 1
        if slot.process is not None and slot.jobs >= s.max_jobs:
            self._stop(slot)  # recycled: the next file starts a fresh process
        return result

    def _crashed(self, slot: _Slot, seconds: float) -> Extraction:
        assert slot.process is not None
        slot.process.join(5)
        code = slot.process.exitcode
        self._stop(slot, kill=True)
        self.restarts += 1
        if code in (-signal.SIGXCPU, -signal.SIGKILL):
            return Extraction(status=TIMEOUT, error=f"CPU-time limit of {self.settings.cpu_seconds}"
                                                    f" s reached after {seconds:.1f} s")
        name = signal.Signals(-code).name if code is not None and code < 0 else f"exit {code}"
        return Extraction(status=FAILED, error=f"the extraction process died ({name}); "
                                               "memory limit or parser crash")


class InlineExtractor:
    """Extraction in the calling process, without limits: for tests and the benchmark's
    reference. The worker always uses ExtractorPool."""

    def __init__(self, limits: Optional[Limits] = None) -> None:
        self.limits = limits or Limits()

    def extract(self, path: str, key: str) -> Extraction:
        from .dispatch import extract_file
        return extract_file(path, key, self.limits)

    def close(self) -> None:
        pass


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


