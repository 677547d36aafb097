"""Every bucket's notification configuration, in both shapes the guard meets.

`AWS::S3::Bucket` has CloudFormation's shape (`QueueConfigurations[].Queue`, `Event`,
`Filter.S3Key.Rules`, `LambdaConfigurations[].Function`); CDK's `Custom::S3BucketNotifications`
(and any custom resource with a `NotificationConfiguration`) passes the S3 API's shape
(`QueueArn`, `Events`, `Filter.Key.FilterRules`, `LambdaFunctionConfigurations[].LambdaFunctionArn`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from checks.notification_guard.conditions import Assumptions, ConditionReader
from checks.notification_guard.template_graph import ResourceKey, TemplateGraph


@dataclass(frozen=True)
class NotificationSource:
    """One bucket's NotificationConfiguration (one Fn::If branch of it), where it is written."""

    bucket: ResourceKey
    config: dict[str, Any]
    template_path: str
    logical_id: str
    location: str
    assumptions: Assumptions
    reader: ConditionReader = field(compare=False, repr=False)

    def entries(self, *keys: str) -> Iterator[tuple[Assumptions, int, dict[str, Any], str]]:
        """(assumptions, index, entry, location) of the list under the first key present."""
        for key in keys:
            if key in self.config:
                location = f"{self.location}/{key}"
                yield from self.reader.list_items(self.config[key], location, self.assumptions)
                return


def notification_sources(graph: TemplateGraph) -> Iterator[NotificationSource]:
    for path, logical_id, resource in graph.resources("AWS::S3::Bucket"):
        yield from _branches(graph, (path, logical_id), path, logical_id, resource)
    for path, logical_id, resource in graph.resources():
        props = resource.get("Properties") or {}
        if str(resource.get("Type", "")).startswith("Custom::") and "NotificationConfiguration" in props:
            name = props.get("BucketName")
            bucket = graph.resolve(name, path) or ("external", json.dumps(name))
            yield from _branches(graph, bucket, path, logical_id, resource)


def _branches(
    graph: TemplateGraph, bucket: ResourceKey, path: str, logical_id: str, resource: dict[str, Any]
) -> Iterator[NotificationSource]:
    reader = graph.conditions(path)
    for assumptions, config, location in reader.branches(
        (resource.get("Properties") or {}).get("NotificationConfiguration"),
        "Properties/NotificationConfiguration",
        reader.of_resource(resource),
    ):
        if isinstance(config, dict) and config:
            yield NotificationSource(bucket, config, path, logical_id, location, assumptions, reader)


def s3_filter(entry: dict[str, Any]) -> str:
    """'events, prefix p' for a queue, topic or Lambda configuration of either shape."""
    key_filter = entry.get("Filter") or {}
    rules = (key_filter.get("S3Key") or {}).get("Rules") or (key_filter.get("Key") or {}).get(
        "FilterRules"
    ) or []
    shown = [f"{str(r.get('Name', '?')).lower()} '{r.get('Value')}'" for r in rules]
    events = entry.get("Event") or entry.get("Events")
    events = ", ".join(events) if isinstance(events, list) else str(events)
    return events + (f", {', '.join(shown)}" if shown else "")
