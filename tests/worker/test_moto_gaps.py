"""harness/moto_gaps.py's SQS locks: moto's own queue, driven as the worker's threads drive it."""

from __future__ import annotations

import collections
import sys
import threading

import pytest
from moto.sqs.models import sqs_backends

from harness.moto import MOTO_ACCOUNT
from harness.moto_gaps import patch_moto

MESSAGES, THREADS = 100, 8


@pytest.fixture
def often_switching_threads():
    """Threads switch every 10 microseconds instead of every 5 ms, so that a race between two
    receives, if there is one, happens in nearly every run rather than in one of hundreds."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


def test_concurrent_receives_never_hand_out_one_message_twice(often_switching_threads):
    patch_moto()
    backend = sqs_backends[MOTO_ACCOUNT]["eu-west-1"]
    backend.create_queue("receive-race")
    for i in range(MESSAGES):
        backend.send_message("receive-race", f"m{i}")
    received: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def receive_until_empty() -> None:
        while messages := backend.receive_message("receive-race", 10, 0, 60):
            with lock:
                received.update(m.id for m in messages)

    threads = [threading.Thread(target=receive_until_empty) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    backend.delete_queue("receive-race")
    assert len(received) == MESSAGES
    assert [m for m, times in received.items() if times > 1] == []
