"""Synthesis-time guard: a queue may receive S3 events through exactly one path.

The incident: the bucket had several QueueConfigurations *and* EventBridge forwarding to the
same queue, so every upload became several messages. This guard is a CDK policy-validation
plugin: it reads every synthesized template of the app (whatever construct, L1 or L2, wrote
it) and fails synthesis when it finds, for one queue, more than one of

- a QueueConfiguration on a bucket (`AWS::S3::Bucket` or CDK's `Custom::S3BucketNotifications`),
- EventBridge enabled on a bucket that also notifies the queue directly,
- an EventBridge rule matching S3 events with the queue as a target,
- an EventBridge pipe with the queue as its target,
- an SNS topic that receives S3 events and delivers to the queue.

`find_duplicate_paths` works on plain template dicts so that tests can feed it any shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
)

RULE_NAME = "single-notification-path"

# A resource inside one template: (template path, logical id). Queues outside the app are
# identified by their literal ARN or name: ("external", name).
ResourceKey = tuple[str, str]


@dataclass(frozen=True)
class NotificationPath:
    """One way S3 events reach a queue."""

    queue: ResourceKey
    description: str
    template_path: str
    logical_id: str
    location: str
    bucket: ResourceKey | None = None


@dataclass(frozen=True)
class Violation:
    queue_name: str
    bucket_names: tuple[str, ...]
    paths: tuple[NotificationPath, ...]

    @property
    def message(self) -> str:
        listed = "; ".join(f"({i}) {p.description}" for i, p in enumerate(self.paths, 1))
        buckets = ", ".join(self.bucket_names) or "(none in this app)"
        return (
            f"Queue {self.queue_name} receives S3 events through {len(self.paths)} paths, "
            f"so every upload would be delivered {len(self.paths)} times. Bucket(s): {buckets}. "
            f"Paths found: {listed}. Keep exactly one: a single QueueConfiguration "
            f"(s3:ObjectCreated:*, one prefix) with EventBridge disabled on the bucket."
        )


class _App:
    """All templates of the app, with the cross-template lookups the guard needs."""

    def __init__(self, templates: dict[str, dict[str, Any]], stack_names: dict[str, str] | None = None):
        self.templates = templates
        # CloudFormation stack name -> template path, to follow Fn::GetStackOutput.
        self.stack_names = stack_names or {}
        self.exports: dict[str, tuple[str, Any]] = {}
        for path, template in templates.items():
            for output in (template.get("Outputs") or {}).values():
                name = (output.get("Export") or {}).get("Name")
                if isinstance(name, str):
                    self.exports[name] = (path, output.get("Value"))
        self.queue_names: dict[str, ResourceKey] = {}
        for path, logical_id, resource in self.resources("AWS::SQS::Queue"):
            name = (resource.get("Properties") or {}).get("QueueName")
            if isinstance(name, str):
                self.queue_names[name] = (path, logical_id)

    def resources(self, *types: str):
        for path, template in self.templates.items():
            for logical_id, resource in (template.get("Resources") or {}).items():
                if not types or resource.get("Type") in types:
                    yield path, logical_id, resource

    def resource(self, key: ResourceKey) -> dict[str, Any] | None:
        path, logical_id = key
        return (self.templates.get(path, {}).get("Resources") or {}).get(logical_id)

    def resolve(self, expr: Any, path: str, depth: int = 0) -> ResourceKey | None:
        """The resource an expression points at (Ref, GetAtt, ImportValue, or a literal ARN)."""
        if depth > 10:
            return None
        if isinstance(expr, dict) and len(expr) == 1:
            (fn, arg), = expr.items()
            if fn == "Ref" and isinstance(arg, str) and not arg.startswith("AWS::"):
                return (path, arg)
            if fn == "Fn::GetAtt":
                target = arg.split(".")[0] if isinstance(arg, str) else arg[0]
                return (path, target)
            if fn == "Fn::ImportValue" and isinstance(arg, str) and arg in self.exports:
                producer, value = self.exports[arg]
                return self.resolve(value, producer, depth + 1)
            if fn == "Fn::GetStackOutput" and isinstance(arg, dict):
                producer = self.stack_names.get(str(arg.get("StackName")))
                outputs = (self.templates.get(producer or "", {}).get("Outputs") or {})
                output = outputs.get(str(arg.get("OutputName")))
                if output:
                    return self.resolve(output.get("Value"), producer, depth + 1)
            if fn == "Fn::Join":
                return self._by_queue_name(_join_to_text(arg))
        if isinstance(expr, str):
            return self._by_queue_name(expr)
        return None

    def _by_queue_name(self, text: str | None) -> ResourceKey | None:
        if not text:
            return None
        # An SQS ARN ends with the queue name; a queue URL ends with "/<name>".
        name = text.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        return self.queue_names.get(name, ("external", text))

    def is_queue(self, key: ResourceKey | None) -> bool:
        if key is None:
            return False
        if key[0] == "external":
            return ":sqs:" in key[1] or "sqs." in key[1]
        resource = self.resource(key)
        return bool(resource) and resource.get("Type") == "AWS::SQS::Queue"

    def display_name(self, key: ResourceKey | None) -> str:
        if key is None:
            return "(unresolved)"
        if key[0] == "external":
            return key[1]
        resource = self.resource(key) or {}
        cdk_path = (resource.get("Metadata") or {}).get("aws:cdk:path")
        return cdk_path.removesuffix("/Resource") if cdk_path else f"{key[1]} in {Path(key[0]).name}"


def _join_to_text(arg: Any) -> str | None:
    if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list)):
        return None
    parts = [p if isinstance(p, str) else "*" for p in arg[1]]
    return str(arg[0]).join(parts)


def _s3_filter(config: dict[str, Any]) -> str:
    """'events, prefix p' for both shapes: CloudFormation's (Event, Filter.S3Key.Rules) and the
    S3 API's that CDK's notifications custom resource uses (Events, Filter.Key.FilterRules)."""
    key_filter = config.get("Filter") or {}
    rules = (key_filter.get("S3Key") or {}).get("Rules") or (key_filter.get("Key") or {}).get(
        "FilterRules"
    ) or []
    shown = [f"{str(r.get('Name', '?')).lower()} '{r.get('Value')}'" for r in rules]
    events = config.get("Event") or config.get("Events")
    events = ", ".join(events) if isinstance(events, list) else str(events)
    return events + (f", {', '.join(shown)}" if shown else "")


def _notification_sources(app: _App):
    """(bucket key, NotificationConfiguration, template path, logical id, location) per source."""
    location = "Properties/NotificationConfiguration"
    for path, logical_id, resource in app.resources("AWS::S3::Bucket"):
        config = (resource.get("Properties") or {}).get("NotificationConfiguration")
        if config:
            yield (path, logical_id), config, path, logical_id, location
    for path, logical_id, resource in app.resources():
        props = resource.get("Properties") or {}
        if str(resource.get("Type", "")).startswith("Custom::") and "NotificationConfiguration" in props:
            name = props.get("BucketName")
            bucket = app.resolve(name, path) or ("external", json.dumps(name))
            yield bucket, props["NotificationConfiguration"], path, logical_id, location


def _matches_s3_events(pattern: Any) -> bool:
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


def collect_paths(
    templates: dict[str, dict[str, Any]], stack_names: dict[str, str] | None = None
) -> tuple[_App, list[NotificationPath]]:
    app = _App(templates, stack_names)
    paths: list[NotificationPath] = []
    eventbridge_buckets: list[tuple[ResourceKey, str, str]] = []
    topic_buckets: dict[ResourceKey, list[ResourceKey]] = {}

    for bucket, config, path, logical_id, location in _notification_sources(app):
        bucket_name = app.display_name(bucket)
        for i, queue_config in enumerate(config.get("QueueConfigurations") or []):
            target = queue_config.get("Queue") or queue_config.get("QueueArn")
            # An expression the guard cannot follow stays its own queue: never merged with
            # another unresolved one, so the guard cannot report a duplicate that is not there.
            queue = app.resolve(target, path) or ("external", f"{json.dumps(target)} in {path}")
            paths.append(NotificationPath(
                queue=queue,
                bucket=bucket,
                description=f"QueueConfiguration #{i + 1} on bucket {bucket_name} "
                            f"({_s3_filter(queue_config)})",
                template_path=path, logical_id=logical_id,
                location=f"{location}/QueueConfigurations/{i}",
            ))
        if "EventBridgeConfiguration" in config:
            eventbridge_buckets.append((bucket, path, logical_id))
        for topic_config in config.get("TopicConfigurations") or []:
            topic = app.resolve(topic_config.get("Topic") or topic_config.get("TopicArn"), path)
            if topic:
                topic_buckets.setdefault(topic, []).append(bucket)

    # EventBridge enabled on a bucket is a second path to every queue that bucket notifies
    # directly, whether or not the rule that forwards the events is defined in this app.
    for bucket, path, logical_id in eventbridge_buckets:
        for queue in {p.queue for p in paths if p.bucket == bucket}:
            paths.append(NotificationPath(
                queue=queue, bucket=bucket,
                description=f"EventBridge enabled on bucket {app.display_name(bucket)} "
                            "(EventBridgeConfiguration): any rule forwarding its events duplicates them",
                template_path=path, logical_id=logical_id,
                location="Properties/NotificationConfiguration/EventBridgeConfiguration",
            ))

    for path, logical_id, resource in app.resources("AWS::Events::Rule"):
        props = resource.get("Properties") or {}
        if not _matches_s3_events(props.get("EventPattern")):
            continue
        for i, target in enumerate(props.get("Targets") or []):
            queue = app.resolve(target.get("Arn"), path)
            if app.is_queue(queue):
                paths.append(NotificationPath(
                    queue=queue,
                    description=f"EventBridge rule {app.display_name((path, logical_id))} "
                                "forwarding S3 events",
                    template_path=path, logical_id=logical_id, location=f"Properties/Targets/{i}",
                ))

    for path, logical_id, resource in app.resources("AWS::Pipes::Pipe"):
        queue = app.resolve((resource.get("Properties") or {}).get("Target"), path)
        if app.is_queue(queue):
            paths.append(NotificationPath(
                queue=queue,
                description=f"EventBridge pipe {app.display_name((path, logical_id))} "
                            "delivering into the queue",
                template_path=path, logical_id=logical_id, location="Properties/Target",
            ))

    for path, logical_id, resource in app.resources("AWS::SNS::Subscription"):
        props = resource.get("Properties") or {}
        if str(props.get("Protocol", "")).lower() != "sqs":
            continue
        topic = app.resolve(props.get("TopicArn"), path)
        for bucket in topic_buckets.get(topic, []):
            paths.append(NotificationPath(
                queue=app.resolve(props.get("Endpoint"), path) or ("external", "?"),
                bucket=bucket,
                description=f"SNS topic {app.display_name(topic)} (notified by bucket "
                            f"{app.display_name(bucket)}) subscribed by the queue",
                template_path=path, logical_id=logical_id, location="Properties/Endpoint",
            ))
    return app, paths


def find_duplicate_paths(
    templates: dict[str, dict[str, Any]], stack_names: dict[str, str] | None = None
) -> list[Violation]:
    """Every queue that S3 events reach through more than one path.

    `templates` maps template path -> template; `stack_names` maps CloudFormation stack name
    -> template path (needed to follow cross-stack references within the app).
    """
    app, paths = collect_paths(templates, stack_names)
    by_queue: dict[ResourceKey, list[NotificationPath]] = {}
    for p in paths:
        by_queue.setdefault(p.queue, []).append(p)
    violations = []
    for queue, queue_paths in by_queue.items():
        if len(queue_paths) > 1:
            buckets = sorted({app.display_name(p.bucket) for p in queue_paths if p.bucket})
            violations.append(Violation(app.display_name(queue), tuple(buckets), tuple(queue_paths)))
    return violations


def _stack_names(templates: dict[str, Any]) -> dict[str, str]:
    """Stack name -> template path, read from the cloud assembly manifests beside the templates."""
    names: dict[str, str] = {}
    for directory in {Path(p).parent for p in templates}:
        manifest = directory / "manifest.json"
        if not manifest.exists():
            continue
        artifacts = json.loads(manifest.read_text()).get("artifacts") or {}
        for artifact_id, artifact in artifacts.items():
            props = artifact.get("properties") or {}
            if artifact.get("type") == "aws:cloudformation:stack" and "templateFile" in props:
                names[props.get("stackName", artifact_id)] = str(directory / props["templateFile"])
    return names


@jsii.implements(IPolicyValidationPlugin)
class SingleNotificationPathGuard:
    """CDK validation plugin: synthesis fails while any queue has two S3 notification paths."""

    @property
    def name(self) -> str:
        return "SingleNotificationPathGuard"

    @property
    def version(self) -> str:
        return "1.0.0"

    @property
    def rule_ids(self) -> list[str]:
        return [RULE_NAME]

    def validate(self, context) -> PolicyValidationPluginReport:
        templates = {p: json.loads(Path(p).read_text()) for p in context.template_paths}
        violations = find_duplicate_paths(templates, _stack_names(templates))
        return PolicyValidationPluginReport(
            success=not violations,
            violations=[
                PolicyViolation(
                    rule_name=RULE_NAME,
                    description=v.message,
                    fix="Remove the extra QueueConfiguration / EventBridge configuration, rule "
                        "or pipe; see README 'One notification path'.",
                    violating_resources=[
                        PolicyViolatingResource(
                            resource_logical_id=p.logical_id,
                            template_path=p.template_path,
                            locations=[p.location],
                        )
                        for p in v.paths
                    ],
                )
                for v in violations
            ],
        )
