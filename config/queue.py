"""The ingest queue pair (main queue + dead-letter queue)."""

from __future__ import annotations

from dataclasses import dataclass

SQS_MAX_RETENTION_DAYS = 14
SQS_MAX_VISIBILITY_SECONDS = 12 * 60 * 60


@dataclass(frozen=True)
class QueueConfig:
    """The ingest queue pair (main queue + dead-letter queue)."""

    visibility_timeout_seconds: int = 900
    receive_wait_seconds: int = 20
    # A message that failed this many receives moves to the DLQ.
    max_receive_count: int = 5
    retention_days: int = 4
    dlq_retention_days: int = SQS_MAX_RETENTION_DAYS
    # The longest a worker may spend on one message. The visibility timeout must cover it,
    # or long jobs reappear and are processed twice (the incident's 300 s timeout did this).
    worker_max_processing_seconds: int = 600

    @property
    def late_event_days(self) -> int:
        """A bound on how long after it was sent a message can still be received: the main
        queue's retention plus the DLQ's. (SQS keeps a DLQ message dlq_retention_days from the
        original send, so the sum has a margin; a redrive does not renew it.)"""
        return self.retention_days + self.dlq_retention_days

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.max_receive_count < 1 or self.max_receive_count > 1000:
            found.append(("max_receive_count", "must be between 1 and 1000"))
        if not 0 <= self.receive_wait_seconds <= 20:
            found.append(("receive_wait_seconds", "must be between 0 and 20 (SQS long polling)"))
        if not 0 < self.visibility_timeout_seconds <= SQS_MAX_VISIBILITY_SECONDS:
            found.append(("visibility_timeout_seconds", "must be between 1 and 43200"))
        if self.worker_max_processing_seconds < 1:
            found.append(("worker_max_processing_seconds", "must be at least 1"))
        elif self.visibility_timeout_seconds < self.worker_max_processing_seconds:
            found.append((
                "visibility_timeout_seconds",
                f"must be at least worker_max_processing_seconds "
                f"({self.worker_max_processing_seconds}), or messages reappear while still "
                "being processed",
            ))
        if not 1 <= self.retention_days <= SQS_MAX_RETENTION_DAYS:
            found.append(("retention_days", "must be between 1 and 14"))
        if not 1 <= self.dlq_retention_days <= SQS_MAX_RETENTION_DAYS:
            found.append(("dlq_retention_days", "must be between 1 and 14"))
        elif self.dlq_retention_days <= self.retention_days:
            found.append((
                "dlq_retention_days",
                f"must be longer than retention_days ({self.retention_days}): a message keeps "
                "its original timestamp when it moves to the DLQ, so a shorter DLQ retention "
                "deletes it on arrival",
            ))
        return found
