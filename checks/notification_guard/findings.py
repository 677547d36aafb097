"""What the guard reports: notification paths to a queue (errors) and Lambda notifications (review)."""

from __future__ import annotations

from dataclasses import dataclass

from checks.notification_guard.conditions import ALWAYS, Assumptions, describe
from checks.notification_guard.template_graph import ResourceKey
from contract.s3_event_types import EVERYTHING, Delivery

# Synthesis fails on this rule: a queue receives S3 events through more than one path.
RULE_NAME = "single-notification-path"
# Listed for a reviewer, never fails synthesis: a Lambda function receives a bucket's events.
LAMBDA_REVIEW_RULE_NAME = "review-lambda-notification"


@dataclass(frozen=True)
class NotificationPath:
    """One way S3 events reach a queue."""

    queue: ResourceKey
    description: str
    template_path: str
    logical_id: str
    location: str
    bucket: ResourceKey | None = None
    assumptions: Assumptions = ALWAYS
    # The events it delivers; every event unless it is a queue configuration with its own list.
    delivery: Delivery = EVERYTHING

    @property
    def text(self) -> str:
        return self.description + describe(self.assumptions)


@dataclass(frozen=True)
class Violation:
    queue_name: str
    bucket_names: tuple[str, ...]
    paths: tuple[NotificationPath, ...]

    @property
    def message(self) -> str:
        listed = "; ".join(f"({i}) {p.text}" for i, p in enumerate(self.paths, 1))
        buckets = ", ".join(self.bucket_names) or "(none in this app)"
        return (
            f"Queue {self.queue_name} receives S3 events through {len(self.paths)} paths whose "
            f"event types and key filters overlap, so one event would be delivered "
            f"{len(self.paths)} times. Bucket(s): {buckets}. Paths found: {listed}. Keep exactly "
            f"one path per event: a single QueueConfiguration (s3:ObjectCreated:* and "
            f"s3:ObjectRemoved:*, one prefix) with EventBridge disabled on the bucket."
        )


@dataclass(frozen=True)
class LambdaNotification:
    """A bucket notifies a Lambda function: the function might forward the events to a queue."""

    bucket_name: str
    function_name: str
    events: str
    queues_of_the_bucket: tuple[str, ...]
    template_path: str
    logical_id: str
    location: str
    assumptions: Assumptions = ALWAYS

    @property
    def message(self) -> str:
        queues = (f" The bucket also notifies {', '.join(self.queues_of_the_bucket)} directly."
                  if self.queues_of_the_bucket else "")
        return (
            f"Bucket {self.bucket_name} sends S3 events ({self.events}) to Lambda function "
            f"{self.function_name}{describe(self.assumptions)}. The guard cannot tell from templates "
            f"whether the function forwards them to a queue; a reviewer must check that it does "
            f"not deliver them to a queue that already receives them.{queues}"
        )
