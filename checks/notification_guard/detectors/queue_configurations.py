"""Path: a `QueueConfiguration` on a bucket (`AWS::S3::Bucket` or `Custom::S3BucketNotifications`).

Each carries what it delivers (event types, prefix, suffix): two to the same queue, on one bucket
or on two, are duplicates only where one event reaches both (contract/s3_event_types.py).
"""

from __future__ import annotations

import json

from checks.notification_guard.bucket_notifications import notification_sources, s3_filter
from checks.notification_guard.findings import NotificationPath
from checks.notification_guard.template_graph import TemplateGraph
from contract.s3_event_types import Delivery


def detect(graph: TemplateGraph) -> list[NotificationPath]:
    paths = []
    for source in notification_sources(graph):
        bucket_name = graph.display_name(source.bucket)
        for assumptions, index, entry, location in source.entries("QueueConfigurations"):
            for target_assumptions, target, _ in graph.conditions(source.template_path).branches(
                entry.get("Queue") or entry.get("QueueArn"), location, assumptions
            ):
                # An expression the guard cannot follow stays its own queue: never merged with
                # another unresolved one, so the guard cannot report a duplicate that is not there.
                queue = graph.resolve(target, source.template_path) or (
                    "external", f"{json.dumps(target)} in {source.template_path}")
                paths.append(NotificationPath(
                    queue=queue,
                    bucket=source.bucket,
                    description=f"QueueConfiguration #{index + 1} on bucket {bucket_name} "
                                f"({s3_filter(entry)})",
                    template_path=source.template_path, logical_id=source.logical_id,
                    location=location, assumptions=target_assumptions,
                    delivery=Delivery.of_configuration(entry),
                ))
    return paths
