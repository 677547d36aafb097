"""The messages this worker holds: received and not yet settled (deleted, dead-lettered or given
back). Receiving adds to it, settling removes from it, the heartbeat extends what it holds."""
from __future__ import annotations

import threading
from typing import Dict, List, Sequence

from .outcomes import ReceivedMessage


class InFlight:
    """Received and not yet settled, by receipt handle."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held: Dict[str, ReceivedMessage] = {}

    def add(self, messages: Sequence[ReceivedMessage]) -> None:
        with self._cond:
            for m in messages:
                self._held[m.receipt_handle] = m

    def forget(self, messages: Sequence[ReceivedMessage]) -> None:
        with self._cond:
            for m in messages:
                self._held.pop(m.receipt_handle, None)
            self._cond.notify_all()

    def wait_below(self, limit: int, timeout: float) -> bool:
        """Wait (real seconds) until fewer than `limit` are held; True if so."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._held) < limit, timeout)

    def __contains__(self, message: ReceivedMessage) -> bool:
        with self._cond:
            return message.receipt_handle in self._held

    def __len__(self) -> int:
        with self._cond:
            return len(self._held)

    def all(self) -> List[ReceivedMessage]:
        with self._cond:
            return list(self._held.values())

    def due(self, now: float, margin: float) -> List[ReceivedMessage]:
        with self._cond:
            return [m for m in self._held.values() if m.deadline - now < margin]
