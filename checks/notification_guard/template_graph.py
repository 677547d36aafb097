"""All templates of the app as one graph: which resource an expression points at, across stacks.

Follows `Ref`, `Fn::GetAtt`, `Fn::ImportValue` (through the producing stack's export),
`Fn::GetStackOutput` (through the producing stack's output, found by stack name) and literal
queue ARNs or URLs (matched to a queue of the app by its `QueueName`). `Fn::If` is expanded
before resolution (conditions.py), so this module only sees one branch at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from checks.notification_guard.conditions import Assumptions, ConditionReader

# A resource inside one template: (template path, logical id). Resources outside the app are
# identified by their literal ARN or name: ("external", text).
ResourceKey = tuple[str, str]

_MAX_REFERENCE_HOPS = 10


class TemplateGraph:
    """The templates of one app with the cross-template lookups the detectors need."""

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
        self._conditions = {path: ConditionReader(template, path) for path, template in templates.items()}

    def conditions(self, path: str) -> ConditionReader:
        return self._conditions[path]

    def resources(self, *types: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(template path, logical id, resource) for every resource of the given types (all if none)."""
        for path, template in self.templates.items():
            for logical_id, resource in (template.get("Resources") or {}).items():
                if not types or resource.get("Type") in types:
                    yield path, logical_id, resource

    def resource(self, key: ResourceKey) -> dict[str, Any] | None:
        path, logical_id = key
        return (self.templates.get(path, {}).get("Resources") or {}).get(logical_id)

    def resolve(self, expr: Any, path: str, depth: int = 0) -> ResourceKey | None:
        """The resource an expression points at, or None when the guard cannot tell."""
        if depth > _MAX_REFERENCE_HOPS:
            return None
        if isinstance(expr, dict) and len(expr) == 1:
            ((fn, arg),) = expr.items()
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
                outputs = self.templates.get(producer or "", {}).get("Outputs") or {}
                output = outputs.get(str(arg.get("OutputName")))
                if output and producer:
                    return self.resolve(output.get("Value"), producer, depth + 1)
            if fn == "Fn::Join":
                return self._by_queue_name(_join_to_text(arg))
        if isinstance(expr, str):
            return self._by_queue_name(expr)
        return None

    def queue_targets(
        self, expr: Any, path: str, location: str, assumptions: Assumptions
    ) -> Iterator[tuple[Assumptions, ResourceKey]]:
        """(assumptions, queue) for each branch of a target expression that points at a queue."""
        for branch_assumptions, target, _ in self.conditions(path).branches(expr, location, assumptions):
            queue = self.resolve(target, path)
            if queue is not None and self.is_queue(queue):
                yield branch_assumptions, queue

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
        """The construct path CDK recorded for the resource, else its logical id and template."""
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
