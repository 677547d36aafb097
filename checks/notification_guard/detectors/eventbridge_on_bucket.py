"""Path: EventBridge enabled on a bucket (`EventBridgeConfiguration`) that also notifies a queue.

It is a second path to every queue that bucket notifies directly, whether or not the rule that
forwards the events is defined in this app.
"""

from __future__ import annotations

from checks.notification_guard.bucket_notifications import notification_sources
from checks.notification_guard.conditions import combine
from checks.notification_guard.findings import NotificationPath
from checks.notification_guard.template_graph import TemplateGraph

LOCATION = "EventBridgeConfiguration"


def detect(graph: TemplateGraph, direct: list[NotificationPath]) -> list[NotificationPath]:
    """`direct`: the QueueConfiguration paths (detectors/queue_configurations.py)."""
    paths = []
    for source in notification_sources(graph):
        if LOCATION not in source.config:
            continue
        for assumptions, _, location in source.reader.branches(
            source.config[LOCATION], f"{source.location}/{LOCATION}", source.assumptions
        ):
            # One EventBridge path per queue, under the conditions that enable EventBridge.
            for queue in dict.fromkeys(p.queue for p in direct if p.bucket == source.bucket):
                queue_notified = any(combine(assumptions, p.assumptions) is not None
                                     for p in direct if p.bucket == source.bucket and p.queue == queue)
                if not queue_notified:
                    continue
                paths.append(NotificationPath(
                    queue=queue, bucket=source.bucket,
                    description=f"EventBridge enabled on bucket {graph.display_name(source.bucket)} "
                                "(EventBridgeConfiguration): any rule forwarding its events duplicates them",
                    template_path=source.template_path, logical_id=source.logical_id,
                    location=location, assumptions=assumptions,
                ))
    return paths
