"""Is this worker consuming? One log line a minute says so (worker_alive) or says why not
(worker_stalled), with the instance id, for the alarms that find a hung worker (#22).

Auto Scaling checks only the EC2 instance (no load balancer), so an instance whose worker
process is alive but stuck stays InService for ever. The worker judges itself here:

- every pipeline thread must still run;
- while consumption is open, the receive loop must have come round within `stall_seconds`
  (a long poll returns within wait_time + the client's read timeout), unless a round is
  running: a round may legitimately take up to the longest job;
- no round may run longer than `round_limit_seconds` (the queue's visibility timeout, which
  the deploy sets above the longest job): such a round holds its messages, which the
  visibility heartbeat keeps hidden for up to 12 hours;
- a paused worker (index or bucket unavailable) is not stalled: consumption-paused covers it.

A frozen process writes neither line: the Monitoring stack compares the worker_alive lines
with the instances in service (workers-not-alive). One line per wall-clock minute, written in
the middle of the minute, so that each live worker adds exactly 1 to each minute's count.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence

from .clock import Clock
from .logs import JsonLog


def this_instance(asg_name: Optional[str], log: JsonLog,
                  lookup: Optional[Callable[[], str]] = None) -> str:
    """The EC2 instance id (IMDSv2) on a group's instance, else the host name (local runs)."""
    if asg_name:
        try:
            if lookup is None:
                from .lifecycle import instance_id as lookup
            return lookup()
        except OSError as exc:
            log.warning("instance_id_unknown",
                        f"Could not read the instance id from IMDS ({exc}); using the host name",
                        error=type(exc).__name__)
    return socket.gethostname()


class Liveness:
    """Progress marks from the pipelines; `stalled()` says what is wrong, if anything."""

    def __init__(self, *, clock: Clock, stall_seconds: float, round_limit_seconds: float) -> None:
        self.clock = clock
        self.stall_seconds = stall_seconds
        self.round_limit_seconds = round_limit_seconds
        self._lock = threading.Lock()
        self._last_receive = clock.now()
        self._rounds: Dict[int, float] = {}
        self._next_round = 0

    def receive_loop(self) -> None:
        """The receive loop came round (a poll returned, or it waited for room or the gate)."""
        with self._lock:
            self._last_receive = self.clock.now()

    def round_started(self) -> int:
        with self._lock:
            self._next_round += 1
            self._rounds[self._next_round] = self.clock.now()
            return self._next_round

    def round_ended(self, token: int) -> None:
        with self._lock:
            self._rounds.pop(token, None)
            self._last_receive = max(self._last_receive, self.clock.now())

    def stalled(self, threads: Sequence[threading.Thread], paused: bool) -> List[str]:
        """Reasons this worker is not consuming; empty when it is (or is paused)."""
        now = self.clock.now()
        reasons = [f"{t.name} ended" for t in threads if not t.is_alive()]
        if paused:
            return reasons
        with self._lock:
            oldest_round = min(self._rounds.values(), default=None)
            idle = now - self._last_receive
        if oldest_round is not None and now - oldest_round > self.round_limit_seconds:
            reasons.append(f"a round has run for {now - oldest_round:.0f} s "
                           f"(limit {self.round_limit_seconds:.0f} s)")
        if oldest_round is None and idle > self.stall_seconds:
            reasons.append(f"no receive for {idle:.0f} s (limit {self.stall_seconds:.0f} s)")
        return reasons


class AliveReporter:
    """Writes worker_alive or worker_stalled once per wall-clock minute; call `tick()` often."""

    def __init__(self, *, log: JsonLog, liveness: Liveness, instance_id: str,
                 wall: Callable[[], float] = time.time) -> None:
        self.log = log
        self.liveness = liveness
        self.instance_id = instance_id
        self.wall = wall
        self._minute: Optional[int] = None

    def tick(self, threads: Sequence[threading.Thread], paused: bool) -> None:
        # Half a minute later than the clock's minute: a line never lands on a boundary, where
        # a little jitter would count it in the neighbouring minute.
        minute = int((self.wall() - 30) // 60)
        if minute == self._minute:
            return
        first, self._minute = self._minute is None, minute
        if first:
            return      # a line now and another at :30 would count this worker twice
        reasons = self.liveness.stalled(threads, paused)
        if reasons:
            self.log.error("worker_stalled", "Worker is not consuming: " + "; ".join(reasons),
                           instance_id=self.instance_id, reasons=reasons)
        else:
            self.log.info("worker_alive", "Worker is consuming", instance_id=self.instance_id,
                          paused=paused)
