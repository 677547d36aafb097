"""Time for the worker's schedules (heartbeat, backoff, pauses). Tests run the real schedule
faster with speed > 1: every duration the worker waits is divided by speed, and every time it
reads is multiplied by it, while SQS, S3 and the index keep their own real time."""
from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed={speed!r} must be positive")
        self.speed = speed

    def now(self) -> float:
        """Monotonic seconds (worker time)."""
        return time.monotonic() * self.speed

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait up to `seconds` of worker time for the event; True if it is set."""
        return event.wait(max(0.0, seconds) / self.speed)
