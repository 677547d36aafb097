"""Ctrl-C during a move: finish the message in hand, release the rest, report, instead of a
traceback that leaves a batch invisible in the DLQ for the hold time."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Interrupt:
    requested: bool = False


@contextmanager
def deferred() -> Iterator[Interrupt]:
    """The first Ctrl-C only sets `requested` (the loop stops at the next message); a second
    one interrupts at once, as usual. Outside the main thread signals cannot be caught, so
    there it changes nothing."""
    state = Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if state.requested:
            raise KeyboardInterrupt
        state.requested = True

    signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)
