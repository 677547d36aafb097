"""Compare two CloudFormation templates resource by resource, property by property.

Pure functions over template dicts: no CDK, no AWS, no files. The stateful-change gate and the
rendered diff both come from these results, so what reviewers read is what the gate judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools.stateful import is_stateful, requires_replacement

# CDK's analytics resource changes with every library version and deploys nothing.
IGNORED_TYPES = frozenset({"AWS::CDK::Metadata"})
# Resource attributes besides Type/Properties that change what CloudFormation does. Metadata is
# left out on purpose: it is CDK bookkeeping (construct paths, asset paths), not infrastructure.
ATTRIBUTES = ("DeletionPolicy", "UpdateReplacePolicy", "DependsOn", "Condition",
              "CreationPolicy", "UpdatePolicy")
SECTIONS = ("Parameters", "Conditions", "Mappings", "Rules", "Outputs")


class _Missing:
    def __repr__(self) -> str:
        return "<absent>"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class PropertyChange:
    path: str  # "VisibilityTimeout", "RedrivePolicy.maxReceiveCount", "Tags[1].Value", "[DeletionPolicy]"
    old: Any
    new: Any
    requires_replacement: bool = False


@dataclass(frozen=True)
class ResourceChange:
    logical_id: str
    action: str  # "added" | "removed" | "modified"
    old_type: str | None
    new_type: str | None
    construct_path: str | None = None
    changes: tuple[PropertyChange, ...] = ()
    retained: bool = False  # removed, but DeletionPolicy Retain keeps the physical resource

    @property
    def resource_type(self) -> str:
        return self.new_type or self.old_type or "?"

    @property
    def type_changed(self) -> bool:
        return self.action == "modified" and self.old_type != self.new_type

    @property
    def replaced(self) -> bool:
        return self.type_changed or any(c.requires_replacement for c in self.changes)

    @property
    def stateful(self) -> bool:
        return is_stateful(self.old_type) or is_stateful(self.new_type)

    @property
    def destructive(self) -> bool:
        """A stateful resource would be deleted, replaced, or orphaned: its data is at stake."""
        return self.stateful and (self.action == "removed" or self.replaced)


@dataclass(frozen=True)
class SectionChange:
    section: str  # "Outputs", "Parameters", ...
    key: str
    action: str  # "added" | "removed" | "modified"


@dataclass
class StackDiff:
    display_name: str
    stack_name: str
    status: str  # "added" | "removed" | "changed" | "unchanged"
    resources: list[ResourceChange] = field(default_factory=list)
    sections: list[SectionChange] = field(default_factory=list)
    acknowledged_findings: int = 0

    @property
    def destructive(self) -> list[ResourceChange]:
        return [r for r in self.resources if r.destructive]

    def count(self, action: str) -> int:
        return sum(1 for r in self.resources if r.action == action)


def diff_templates(old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[
        list[ResourceChange], list[SectionChange]]:
    """Resource and section changes from `old` to `new`; None stands for "no such stack"."""
    old, new = old or {}, new or {}
    old_resources = _resources(old)
    new_resources = _resources(new)
    changes: list[ResourceChange] = []
    for logical_id in sorted(old_resources.keys() | new_resources.keys()):
        before, after = old_resources.get(logical_id), new_resources.get(logical_id)
        if before is None:
            changes.append(ResourceChange(logical_id, "added", None, after.get("Type"),
                                          _construct_path(after)))
        elif after is None:
            changes.append(ResourceChange(
                logical_id, "removed", before.get("Type"), None, _construct_path(before),
                retained=before.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"),
            ))
        else:
            found = _resource_changes(before, after)
            if found or before.get("Type") != after.get("Type"):
                changes.append(ResourceChange(logical_id, "modified", before.get("Type"),
                                              after.get("Type"), _construct_path(after),
                                              tuple(found)))
    sections = [
        SectionChange(section, key, action)
        for section in SECTIONS
        for key, action in _key_changes(old.get(section) or {}, new.get(section) or {})
    ]
    return changes, sections


def _resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") not in IGNORED_TYPES
    }


def _construct_path(resource: dict[str, Any]) -> str | None:
    return (resource.get("Metadata") or {}).get("aws:cdk:path")


def _resource_changes(before: dict[str, Any], after: dict[str, Any]) -> list[PropertyChange]:
    resource_type = after.get("Type") or before.get("Type") or ""
    found: list[PropertyChange] = []
    old_props, new_props = before.get("Properties") or {}, after.get("Properties") or {}
    for name in sorted(old_props.keys() | new_props.keys()):
        replaces = requires_replacement(resource_type, name)
        for path, old_value, new_value in _value_changes(
                name, old_props.get(name, MISSING), new_props.get(name, MISSING)):
            found.append(PropertyChange(path, old_value, new_value, replaces))
    for attribute in ATTRIBUTES:
        old_value, new_value = before.get(attribute, MISSING), after.get(attribute, MISSING)
        if old_value != new_value:
            found.append(PropertyChange(f"[{attribute}]", old_value, new_value))
    return found


def _value_changes(path: str, old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    """Leaf-level differences: nested dicts by key; same-length lists element by element;
    anything else (including lists that grew or shrank) as one old -> new pair."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            change
            for key in sorted(old.keys() | new.keys())
            for change in _value_changes(f"{path}.{key}", old.get(key, MISSING), new.get(key, MISSING))
        ]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [change for index, (a, b) in enumerate(zip(old, new, strict=True))
                for change in _value_changes(f"{path}[{index}]", a, b)]
    return [(path, old, new)]


def _key_changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    result = []
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            result.append((key, "removed"))
        elif key not in old:
            result.append((key, "added"))
        elif old[key] != new[key]:
            result.append((key, "modified"))
    return result


def diff_stack(display_name: str, stack_name: str, old: dict[str, Any] | None,
               new: dict[str, Any] | None, acknowledged_findings: int = 0) -> StackDiff:
    resources, sections = diff_templates(old, new)
    if old is None:
        status = "added"
    elif new is None:
        status = "removed"
    else:
        status = "changed" if resources or sections else "unchanged"
    return StackDiff(display_name, stack_name, status, resources, sections, acknowledged_findings)
