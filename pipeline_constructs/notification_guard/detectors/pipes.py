"""Path: an EventBridge pipe with the queue as its target (whatever its source)."""

from __future__ import annotations

from pipeline_constructs.notification_guard.findings import NotificationPath
from pipeline_constructs.notification_guard.template_graph import TemplateGraph


def detect(graph: TemplateGraph) -> list[NotificationPath]:
    paths = []
    for path, logical_id, resource in graph.resources("AWS::Pipes::Pipe"):
        reader = graph.conditions(path)
        target_expr = (resource.get("Properties") or {}).get("Target")
        for assumptions, target, location in reader.branches(
            target_expr, "Properties/Target", reader.of_resource(resource)
        ):
            queue = graph.resolve(target, path)
            if graph.is_queue(queue):
                paths.append(NotificationPath(
                    queue=queue,
                    description=f"EventBridge pipe {graph.display_name((path, logical_id))} "
                                "delivering into the queue",
                    template_path=path, logical_id=logical_id, location=location,
                    assumptions=assumptions,
                ))
    return paths
