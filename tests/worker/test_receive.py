"""receive.py: a full batch is followed at once by a second receive; messages become held."""
from __future__ import annotations

import threading

from ingest_worker.clock import Clock
from ingest_worker.held import InFlight
from ingest_worker.receive import Consumer


def test_a_full_batch_takes_a_second_one_and_every_message_is_held(aws):
    for n in range(13):
        aws.send_raw(f"m{n}")
    held = InFlight()
    consumer = Consumer(sqs=aws.sqs, queue_url=aws.queue_url, wait_time=1,
                        visibility_timeout=30, in_flight=held, stop_event=threading.Event(),
                        clock=Clock())
    batch = consumer.next_batch()
    # 13 messages and the bucket's s3:TestEvent: 10, then the remaining 4 at once.
    assert len(batch) == 14 == len(held) and all(m in held for m in batch)
    assert len({m.message_id for m in batch}) == len(batch)
    assert all(m.receive_count == 1 and m.deadline > m.received_at for m in batch)
    assert aws.depth() == 14 and consumer.next_batch() == []  # all held, none visible
