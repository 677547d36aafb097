"""Environment faults pause consumption; message faults go to the DLQ.

When S3 or the index fails in a way that is not the message's fault (unreachable, 5xx, 429,
write block, AccessDenied/KMS for an object the event says exists), `ConsumptionGate.call`
retries the operation in-process a few times with jittered backoff. If it still fails, it
closes the gate: the pipelines stop receiving new messages, the heartbeat keeps the visibility
of the held ones extended (their receive count does not grow), and the operation is probed with
capped exponential backoff until the dependency answers; then the gate opens by itself.
"""
from __future__ import annotations

import dataclasses
import random
import threading
from typing import Callable, Dict, Optional, Set, TypeVar

from .clock import Clock
from .logs import JsonLog
from .stats import Counters

T = TypeVar("T")

# In-process retries before pausing (seconds, each jittered +-50 %): about 3 s in all.
RETRY_DELAYS = (0.2, 0.4, 0.8, 1.6)
# Probes while paused: 1, 2, 4, ... seconds, at most one a minute (each jittered +-20 %).
PROBE_FIRST = 1.0
PROBE_CAP = 60.0
# While paused, consumption_paused is logged again this often: the pause alarm counts minutes
# with a line, so every minute of a pause must have one.
REMIND_EVERY = 55.0


class DependencyFault(Exception):
    """S3 or the index failed in a way that is not the message's fault."""

    INDEX = "index"
    BUCKET = "bucket"

    def __init__(self, dependency: str, code: str, detail: str = "") -> None:
        super().__init__(f"{dependency} {code}: {detail}" if detail else f"{dependency} {code}")
        self.dependency = dependency
        self.code = code
        self.detail = detail


class Stopping(Exception):
    """The worker is stopping while waiting for a dependency: give the messages back."""


def probe_delay(attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Delay before probe number `attempt` (0-based) of a paused dependency."""
    return min(PROBE_CAP, PROBE_FIRST * 2 ** min(attempt, 16)) * (0.8 + 0.4 * rand())


def retry_delay_in_process(attempt: int, rand: Callable[[], float] = random.random) -> float:
    return RETRY_DELAYS[attempt] * (0.5 + rand())


@dataclasses.dataclass
class _Pause:
    since: float  # worker clock
    error: str  # the latest error code
    last_logged: float


class ConsumptionGate:
    def __init__(self, *, log: JsonLog, counters: Counters, clock: Clock,
                 stop_event: threading.Event) -> None:
        self.log = log
        self.counters = counters
        self.clock = clock
        self.stop_event = stop_event
        self._cond = threading.Condition()
        self._paused: Dict[str, _Pause] = {}  # by dependency
        # Set (and replaced) on every resume: probers waiting for their next probe retry at once.
        self._wake = threading.Event()

    # -- for the receivers -------------------------------------------------------------------

    def is_open(self) -> bool:
        with self._cond:
            return not self._paused

    def wait_open(self, timeout: float) -> bool:
        """Wait (real seconds) until no dependency is paused; True if open."""
        with self._cond:
            self._cond.wait_for(lambda: not self._paused, timeout)
            return not self._paused

    def remind(self) -> None:
        """Log consumption_paused again for every dependency paused for REMIND_EVERY seconds
        since its last line (called by the worker's main loop)."""
        now = self.clock.now()
        due = []
        with self._cond:
            for dependency, pause in self._paused.items():
                if now - pause.last_logged >= REMIND_EVERY:
                    pause.last_logged = now
                    due.append((dependency, pause.error, now - pause.since))
        for dependency, code, paused_for in due:
            self.log.warning("consumption_paused",
                             f"Consumption still paused: the {dependency} is failing ({code})",
                             dependency=dependency, error=code,
                             paused_seconds=round(paused_for, 1))

    # -- for the rounds ----------------------------------------------------------------------

    def call(self, op: Callable[[], T]) -> T:
        """Run op; on DependencyFault retry in-process, then pause and probe until it works.
        Raises Stopping if the worker stops meanwhile; any other exception passes through."""
        fault: Optional[DependencyFault] = None
        for attempt in range(len(RETRY_DELAYS) + 1):
            try:
                return op()
            except DependencyFault as exc:
                fault = exc
            if attempt < len(RETRY_DELAYS):
                self.counters.add("in_process_retries")
                if self.clock.wait(self.stop_event, retry_delay_in_process(attempt)):
                    raise Stopping()
        assert fault is not None
        self._pause(fault)
        paused_here = {fault.dependency}
        probe = 0
        while True:
            with self._cond:
                wake = self._wake
            if self._wait_probe(probe_delay(probe), wake):
                raise Stopping()
            probe += 1
            try:
                result = op()
            except DependencyFault as exc:
                self.counters.add("probes_failed")
                self._pause(exc)  # may be another dependency now
                paused_here.add(exc.dependency)
                continue
            except BaseException:
                # It answered, with the message's own fault (e.g. the object is gone now).
                self._resume_all(paused_here)
                raise
            self._resume_all(paused_here)
            return result

    def _wait_probe(self, seconds: float, wake: threading.Event) -> bool:
        """Sleep until the next probe, or until another prober saw a dependency answer.
        True if the worker is stopping."""
        deadline = self.clock.now() + seconds
        while not self.stop_event.is_set():
            left = deadline - self.clock.now()
            if left <= 0 or wake.is_set():
                return False
            # In slices of at most half a second of real time, to notice a stop request.
            self.clock.wait(wake, min(left, 0.5 * self.clock.speed))
        return True

    def _pause(self, fault: DependencyFault) -> None:
        with self._cond:
            pause = self._paused.get(fault.dependency)
            if pause is not None:
                pause.error = fault.code  # the latest error, for the reminders
                return
            now = self.clock.now()
            self._paused[fault.dependency] = _Pause(since=now, error=fault.code, last_logged=now)
        self.counters.add("consumption_paused")
        self.log.warning("consumption_paused",
                         f"Consumption paused: the {fault.dependency} is failing ({fault.code}); "
                         "no new messages are received until it answers, held messages stay "
                         "invisible", dependency=fault.dependency, error=fault.code,
                         paused_seconds=0, detail=fault.detail[:300])

    def _resume_all(self, dependencies: Set[str]) -> None:
        for dependency in sorted(dependencies):
            self._resume(dependency)

    def _resume(self, dependency: str) -> None:
        with self._cond:
            paused = self._paused.pop(dependency, None)
            self._wake.set()
            self._wake = threading.Event()
            self._cond.notify_all()
        if paused is None:
            return  # another prober already resumed it
        self.log.info("consumption_resumed",
                      f"Consumption resumed: the {dependency} answers again",
                      dependency=dependency, error=paused.error,
                      paused_seconds=round(self.clock.now() - paused.since, 1))
