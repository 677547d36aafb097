"""The guard's analysis on plain template dicts: run every detector, group the paths by queue."""

from __future__ import annotations

from typing import Any

from checks.notification_guard.conditions import largest_simultaneous
from checks.notification_guard.detectors import (
    eventbridge_on_bucket,
    eventbridge_rules,
    lambda_functions,
    pipes,
    queue_configurations,
    sns_topics,
)
from checks.notification_guard.findings import LambdaNotification, NotificationPath, Violation
from checks.notification_guard.template_graph import ResourceKey, TemplateGraph
from contract.s3_event_types import largest_overlapping


def find_duplicate_paths(
    templates: dict[str, dict[str, Any]], stack_names: dict[str, str] | None = None
) -> list[Violation]:
    """Every queue that one S3 event reaches through more than one path.

    `templates` maps template path -> template; `stack_names` maps CloudFormation stack name
    -> template path (needed to follow cross-stack references within the app). Paths under
    conditions count together only when their conditions can hold at once, and only where
    their event types and key filters overlap (a created-path and a removed-path do not); a
    path other than a queue configuration delivers every event. The violation lists the
    largest set of paths that one event reaches in one deployment.
    """
    graph = TemplateGraph(templates, stack_names)
    direct = queue_configurations.detect(graph)
    paths = [
        *direct,
        *eventbridge_on_bucket.detect(graph, direct),
        *eventbridge_rules.detect(graph),
        *pipes.detect(graph),
        *sns_topics.detect(graph),
    ]
    by_queue: dict[ResourceKey, list[NotificationPath]] = {}
    for p in paths:
        by_queue.setdefault(p.queue, []).append(p)
    violations = []
    for queue, queue_paths in by_queue.items():
        together = largest_simultaneous(queue_paths, _reached_by_one_event)
        if len(together) > 1:
            buckets = sorted({graph.display_name(p.bucket) for p in together if p.bucket})
            violations.append(Violation(graph.display_name(queue), tuple(buckets), tuple(together)))
    return violations


def _reached_by_one_event(paths: list[NotificationPath]) -> list[NotificationPath]:
    return largest_overlapping(paths, lambda path: path.delivery)


def find_lambda_notifications(
    templates: dict[str, dict[str, Any]], stack_names: dict[str, str] | None = None
) -> list[LambdaNotification]:
    """Every Lambda function a bucket notifies: for a reviewer, never a synthesis failure."""
    graph = TemplateGraph(templates, stack_names)
    return lambda_functions.detect(graph, queue_configurations.detect(graph))
