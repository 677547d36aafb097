"""A received SQS message and the one outcome it ends a round with.

A message carries zero or more S3 records. Each record ends as a `RecordResult`: processed (with
the outcome logged for it) or failed (poison, or retry later). `message_outcome` turns the message's parse
result and record results into exactly one `Outcome`, which decides what happens to the message
in SQS (see settle.py): delete it, send it to the DLQ, or give it back for a retry.
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Sequence, Tuple, Union

from .s3_events import ObjectRef, PoisonMessage


class RetryLater(Exception):
    """A failure that is not the message's fault: give the message back and try again."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclasses.dataclass
class ReceivedMessage:
    """A message this worker holds: received and not yet deleted or given back."""
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    received_at: float  # monotonic
    deadline: float  # monotonic time at which its visibility expires


# -- per record --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Processed:
    ref: ObjectRef
    outcome: str  # indexed, metadata_only, removed, unchanged, ignored


# -- per message -------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Finished:
    """Every record was processed (or the message was an S3 test event): delete it."""
    results: Tuple[Processed, ...] = ()
    test_bucket: Optional[str] = None  # set for s3:TestEvent


@dataclasses.dataclass(frozen=True)
class DeadLetter:
    """The message can never succeed: send it to the DLQ with the reason, then delete it."""
    reason: str
    detail: str


@dataclasses.dataclass(frozen=True)
class Retry:
    """Give the message back to the queue with a short visibility (transient failure)."""
    code: str
    detail: str = ""


Outcome = Union[Finished, DeadLetter, Retry]


@dataclasses.dataclass(frozen=True)
class Failed:
    """A record that failed; `outcome` is what it means for its whole message."""
    ref: ObjectRef
    outcome: Union[DeadLetter, Retry]

    @classmethod
    def of(cls, ref: ObjectRef, error: Union[PoisonMessage, RetryLater]) -> Failed:
        if isinstance(error, PoisonMessage):
            return cls(ref, DeadLetter(error.reason, error.detail))
        return cls(ref, Retry(error.code, error.detail))


RecordResult = Union[Processed, Failed]


def message_outcome(results: Sequence[RecordResult]) -> Outcome:
    """The one outcome of a message whose body parsed, from its record results.

    A poison record makes the whole message poison (it can never succeed as a whole); otherwise
    any record that must be retried makes the message retry; the first such record names the
    reason.
    """
    failures = [r.outcome for r in results if isinstance(r, Failed)]
    for outcome in failures:
        if isinstance(outcome, DeadLetter):
            return outcome
    if failures:
        return failures[0]
    return Finished(results=tuple(r for r in results if isinstance(r, Processed)))
