"""Thread-safe counters: what the worker did (`counts`) and the AWS calls it made (`calls`)."""
from __future__ import annotations

import collections
import threading
from typing import Any, Dict


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Dict[str, int] = collections.Counter()
        self.calls: Dict[str, int] = collections.Counter()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    def watch_calls(self, client: Any) -> None:
        """Count every HTTP attempt of a boto3 client (before-send fires per attempt, retries
        included: an honest count)."""
        client.meta.events.register("before-send", self._count_call)

    def _count_call(self, event_name: str = "", **_: Any) -> None:
        parts = event_name.split(".")
        with self._lock:
            self.calls[".".join(parts[1:3])] += 1

    def snapshot(self) -> Dict[str, Dict[str, int]]:
        with self._lock:
            return {"calls": dict(self.calls), "counts": dict(self.counts)}
