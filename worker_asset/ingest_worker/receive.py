"""Receive batches of messages from the main queue and register them as held."""
from __future__ import annotations

import threading
from typing import Any, List

from .clock import Clock
from .held import InFlight
from .outcomes import ReceivedMessage

RECEIVE_BATCH = 10  # SQS's maximum per ReceiveMessage


class Consumer:
    def __init__(self, *, sqs: Any, queue_url: str, wait_time: int, visibility_timeout: int,
                 in_flight: InFlight, stop_event: threading.Event, clock: Clock) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.wait_time = wait_time
        self.visibility_timeout = visibility_timeout
        self.in_flight = in_flight
        self.stop_event = stop_event
        self.clock = clock

    def receive(self, wait: int) -> List[ReceivedMessage]:
        resp = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=RECEIVE_BATCH,
            WaitTimeSeconds=wait, AttributeNames=["ApproximateReceiveCount"],
            VisibilityTimeout=self.visibility_timeout)
        now = self.clock.now()
        received = [
            ReceivedMessage(
                message_id=m["MessageId"], receipt_handle=m["ReceiptHandle"],
                body=m.get("Body", ""),
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
                received_at=now, deadline=now + self.visibility_timeout)
            for m in resp.get("Messages", [])]
        self.in_flight.add(received)
        return received

    def next_batch(self) -> List[ReceivedMessage]:
        """One long-poll receive; a full batch means more is waiting, so take a second one at
        once: one _mget and one _bulk then serve up to 20 messages."""
        batch = self.receive(self.wait_time)
        if len(batch) == RECEIVE_BATCH and not self.stop_event.is_set():
            batch += self.receive(0)
        return batch
