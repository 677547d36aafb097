"""The messages this worker holds, and the heartbeat that keeps them invisible while held."""
from __future__ import annotations

import random
import threading
import time
from typing import Any, Dict, List, Sequence, Tuple

from .logs import JsonLog
from .messages import ReceivedMessage
from .stats import Counters


def heartbeat_timing(visibility_timeout: int) -> Tuple[float, float]:
    """(tick, margin): check every tick; extend a message when less than margin is left."""
    tick = max(0.5, min(visibility_timeout / 6.0, 30.0))
    margin = max(2 * tick, visibility_timeout / 3.0)
    return tick, margin


class InFlight:
    """Received and not yet settled, by receipt handle."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: Dict[str, ReceivedMessage] = {}

    def add(self, messages: Sequence[ReceivedMessage]) -> None:
        with self._lock:
            for m in messages:
                self._held[m.receipt_handle] = m

    def forget(self, messages: Sequence[ReceivedMessage]) -> None:
        with self._lock:
            for m in messages:
                self._held.pop(m.receipt_handle, None)

    def __contains__(self, message: ReceivedMessage) -> bool:
        with self._lock:
            return message.receipt_handle in self._held

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)

    def all(self) -> List[ReceivedMessage]:
        with self._lock:
            return list(self._held.values())

    def due(self, now: float, margin: float) -> List[ReceivedMessage]:
        with self._lock:
            return [m for m in self._held.values() if m.deadline - now < margin]


class Heartbeat:
    """Extends the visibility of every held message before it expires (daemon thread)."""

    def __init__(self, *, in_flight: InFlight, settler: Any, visibility_timeout: int,
                 log: JsonLog, counters: Counters) -> None:
        self.in_flight = in_flight
        self.settler = settler
        self.visibility_timeout = visibility_timeout
        self.log = log
        self.counters = counters

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)
        thread.start()
        return thread

    def _loop(self) -> None:
        vt = self.visibility_timeout
        tick, margin = heartbeat_timing(vt)
        while True:
            time.sleep(tick * (0.9 + 0.2 * random.random()))
            now = time.monotonic()
            due = self.in_flight.due(now, margin)
            if not due:
                continue
            extended = self.settler.change_visibility(due, lambda m: vt)
            for m in extended:
                m.deadline = now + vt
            self.counters.add("visibility_extended", len(extended))
            self.log.debug("visibility_extended", "Extended visibility of held messages",
                           count=len(extended), requested=len(due))
