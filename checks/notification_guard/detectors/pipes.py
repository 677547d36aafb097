"""Path: an EventBridge pipe with the queue as its target (whatever its source)."""

from __future__ import annotations

from checks.notification_guard.findings import NotificationPath
from checks.notification_guard.template_graph import TemplateGraph


def detect(graph: TemplateGraph) -> list[NotificationPath]:
    paths = []
    for path, logical_id, resource in graph.resources("AWS::Pipes::Pipe"):
        target = (resource.get("Properties") or {}).get("Target")
        present = graph.conditions(path).of_resource(resource)
        for assumptions, queue in graph.queue_targets(target, path, "Properties/Target", present):
            paths.append(NotificationPath(
                queue=queue,
                description=f"EventBridge pipe {graph.display_name((path, logical_id))} "
                            "delivering into the queue",
                template_path=path, logical_id=logical_id, location="Properties/Target",
                assumptions=assumptions,
            ))
    return paths
