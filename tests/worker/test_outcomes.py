"""outcomes.py: each message ends a round with exactly one outcome."""
from __future__ import annotations

from ingest_worker.outcomes import (
    DeadLetter,
    Failed,
    Finished,
    Processed,
    Retry,
    RetryLater,
    message_outcome,
)
from ingest_worker.s3_events import ObjectRef, PoisonMessage

A = ObjectRef("b", "raw-files/a.txt", "ObjectCreated:Put")
B = ObjectRef("b", "raw-files/b.txt", "ObjectCreated:Put")


def test_all_records_processed_means_finished_with_every_result():
    results = [Processed(A, "indexed"), Processed(B, "ignored")]
    assert message_outcome(results) == Finished(results=tuple(results))
    assert message_outcome([]) == Finished()


def test_a_poison_record_makes_the_whole_message_poison_even_after_a_retry():
    results = [Failed.of(A, RetryLater("SlowDown")), Processed(B, "indexed"),
               Failed.of(B, PoisonMessage("object_missing", "s3://b/raw-files/b.txt"))]
    assert message_outcome(results) == DeadLetter("object_missing", "s3://b/raw-files/b.txt")


def test_the_first_record_to_retry_names_the_reason():
    results = [Processed(A, "indexed"), Failed.of(A, RetryLater("SlowDown", "s3 said so")),
               Failed(B, Retry("Timeout"))]
    assert message_outcome(results) == Retry("SlowDown", "s3 said so")
