"""Path: an EventBridge rule matching S3 events (or every source) with the queue as a target.

The rule is a path whatever kind of S3 event it matches (object events, or CloudTrail API
events with source `aws.s3`): the queue's workers expect one message per object. A rule for
S3 events that targets something else (an SNS topic for alerts) is not a path to the queue.
"""

from __future__ import annotations

import json
from typing import Any

from checks.notification_guard.findings import NotificationPath
from checks.notification_guard.template_graph import TemplateGraph


def detect(graph: TemplateGraph) -> list[NotificationPath]:
    paths = []
    for path, logical_id, resource in graph.resources("AWS::Events::Rule"):
        props = resource.get("Properties") or {}
        reader = graph.conditions(path)
        for rule_assumptions, pattern, _ in reader.branches(
            props.get("EventPattern"), "Properties/EventPattern", reader.of_resource(resource)
        ):
            if not matches_s3_events(pattern):
                continue
            for assumptions, _, target, location in reader.list_items(
                props.get("Targets"), "Properties/Targets", rule_assumptions
            ):
                arn = target.get("Arn")
                for arn_assumptions, queue in graph.queue_targets(arn, path, location, assumptions):
                    paths.append(NotificationPath(
                        queue=queue,
                        description=f"EventBridge rule {graph.display_name((path, logical_id))} "
                                    "forwarding S3 events",
                        template_path=path, logical_id=logical_id, location=location,
                        assumptions=arn_assumptions,
                    ))
    return paths


def matches_s3_events(pattern: Any) -> bool:
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except ValueError:
            return True
    if not isinstance(pattern, dict):
        return True
    source = pattern.get("source")
    if source is None:
        return True  # a rule without a source filter matches S3 events too
    return "aws.s3" in json.dumps(source)
