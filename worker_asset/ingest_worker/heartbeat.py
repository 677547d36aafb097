"""The heartbeat that keeps the messages this worker holds (held.py) invisible while held.

SQS lets a received message stay invisible for at most 12 hours from its receive. The heartbeat
extends held messages up to shortly before that limit and then gives them back itself, so that
a message held through a very long pause is released on the worker's terms, not SQS's.
"""
from __future__ import annotations

import random
import threading
from typing import Callable, Dict, List, Optional, Tuple

from .clock import Clock
from .held import InFlight
from .logs import JsonLog
from .outcomes import ReceivedMessage
from .settle import Settler
from .stats import Counters

SQS_MAX_HOLD_SECONDS = 12 * 3600
HOLD_LIMIT_MARGIN = 120  # give back this long before SQS's 12-hour limit


def heartbeat_timing(visibility_timeout: int) -> Tuple[float, float]:
    """(tick, margin): check every tick; extend a message when less than margin is left."""
    tick = max(0.5, min(visibility_timeout / 6.0, 30.0))
    margin = max(2 * tick, visibility_timeout / 3.0)
    return tick, margin


def next_visibility(held_for: float, visibility_timeout: int) -> Optional[int]:
    """Visibility to set now for a message held `held_for` seconds since its receive, or None
    when it must be given back: the extension would reach into the last HOLD_LIMIT_MARGIN
    seconds before SQS's 12-hour limit."""
    left = SQS_MAX_HOLD_SECONDS - HOLD_LIMIT_MARGIN - held_for
    if left < min(visibility_timeout, 60):
        return None
    return int(min(visibility_timeout, left))


class Heartbeat:
    """Extends the visibility of every held message before it expires (daemon thread)."""

    def __init__(self, *, in_flight: InFlight, settler: Settler, visibility_timeout: int,
                 log: JsonLog, counters: Counters, clock: Clock) -> None:
        self.in_flight = in_flight
        self.settler = settler
        self.visibility_timeout = visibility_timeout
        self.log = log
        self.counters = counters
        self.clock = clock
        self._stopped = threading.Event()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """After the worker drained (not at the stop request: draining rounds still hold
        messages)."""
        self._stopped.set()

    def _loop(self) -> None:
        tick, margin = heartbeat_timing(self.visibility_timeout)
        while not self.clock.wait(self._stopped, tick * (0.9 + 0.2 * random.random())):
            self.beat(margin)

    def beat(self, margin: float) -> None:
        now = self.clock.now()
        due = self.in_flight.due(now, margin)
        if not due:
            return
        seconds: Dict[str, int] = {}
        expired: List[ReceivedMessage] = []
        for m in due:
            visibility = next_visibility(now - m.received_at, self.visibility_timeout)
            if visibility is None:
                expired.append(m)
            else:
                seconds[m.receipt_handle] = visibility
        extend = [m for m in due if m.receipt_handle in seconds]
        change: Callable[[ReceivedMessage], int] = lambda m: seconds[m.receipt_handle]  # noqa: E731
        extended = self.settler.change_visibility(extend, change) if extend else []
        for m in extended:
            m.deadline = now + seconds[m.receipt_handle]
        self.counters.add("visibility_extended", len(extended))
        self.log.debug("visibility_extended", "Extended visibility of held messages",
                       count=len(extended), requested=len(extend))
        if expired:
            self.counters.add("hold_limit_released", len(expired))
            self.log.warning("hold_limit_reached",
                             "Held for almost 12 hours (SQS's limit): giving messages back",
                             count=len(expired),
                             message_ids=[m.message_id for m in expired][:20])
            self.settler.change_visibility(expired, lambda m: 0)
            self.in_flight.forget(expired)
