"""Path: an SNS topic notified by a bucket (`TopicConfiguration`) with an SQS subscription by the queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from checks.notification_guard.bucket_notifications import notification_sources
from checks.notification_guard.conditions import Assumptions, ConditionReader, combine
from checks.notification_guard.findings import NotificationPath
from checks.notification_guard.template_graph import ResourceKey, TemplateGraph


def detect(graph: TemplateGraph) -> list[NotificationPath]:
    topic_buckets: dict[ResourceKey, list[tuple[ResourceKey, Assumptions]]] = {}
    for source in notification_sources(graph):
        for assumptions, _, entry, location in source.entries("TopicConfigurations"):
            for topic_assumptions, target, _ in source.reader.branches(
                entry.get("Topic") or entry.get("TopicArn"), location, assumptions
            ):
                topic = graph.resolve(target, source.template_path)
                if topic:
                    topic_buckets.setdefault(topic, []).append((source.bucket, topic_assumptions))

    paths = []
    for path, logical_id, resource in graph.resources("AWS::SNS::Subscription"):
        props = resource.get("Properties") or {}
        if str(props.get("Protocol", "")).lower() != "sqs":
            continue
        reader = graph.conditions(path)
        for sub_assumptions, endpoint, topic_arn in _endpoints_and_topics(reader, resource):
            topic = graph.resolve(topic_arn, path)
            for bucket, topic_assumptions in topic_buckets.get(topic, []):
                # A path only where the bucket notifies the topic and the queue is subscribed.
                assumptions = combine(sub_assumptions, topic_assumptions)
                if assumptions is None:
                    continue
                paths.append(NotificationPath(
                    queue=graph.resolve(endpoint, path) or ("external", "?"),
                    bucket=bucket,
                    description=f"SNS topic {graph.display_name(topic)} (notified by bucket "
                                f"{graph.display_name(bucket)}) subscribed by the queue",
                    template_path=path, logical_id=logical_id, location="Properties/Endpoint",
                    assumptions=assumptions,
                ))
    return paths


def _endpoints_and_topics(
    reader: ConditionReader, resource: dict[str, Any]
) -> Iterator[tuple[Assumptions, Any, Any]]:
    """(assumptions, endpoint, topic ARN) on every branch of both properties."""
    props = resource.get("Properties") or {}
    for assumptions, endpoint, _ in reader.branches(
        props.get("Endpoint"), "Properties/Endpoint", reader.of_resource(resource)
    ):
        for both, topic_arn, _ in reader.branches(props.get("TopicArn"), "Properties/TopicArn", assumptions):
            yield both, endpoint, topic_arn
