"""Human-readable forms of a diff: plain text (terminal, `make diff`) and Markdown (PR comment,
job summary). Both render the same `StackDiff` objects the gate judged."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from tools.differ import MISSING, PropertyChange, ResourceChange, StackDiff
from tools.stateful import ALLOW_LABEL

COMMENT_MARKER = "<!-- cdk-diff -->"
# GitHub rejects comments over 65,536 characters; leave room for the live-diff sections.
MAX_COMMENT_CHARS = 50_000
MAX_VALUE_CHARS = 160
NO_DIFFERENCES = "There were no differences."

_SYMBOL = {"added": "[+]", "removed": "[-]", "modified": "[~]"}


def _value(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    text = json.dumps(value, sort_keys=True, separators=(", ", ": "))
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def _property_line(change: PropertyChange) -> str:
    if change.old is MISSING:
        line = f"    [+] {change.path}: {_value(change.new)}"
    elif change.new is MISSING:
        line = f"    [-] {change.path}: {_value(change.old)}"
    else:
        line = f"    [~] {change.path}: {_value(change.old)} -> {_value(change.new)}"
    return line + ("  (requires replacement)" if change.requires_replacement else "")


def _resource_lines(resource: ResourceChange) -> list[str]:
    tags = []
    if resource.stateful:
        tags.append("STATEFUL")
    if resource.type_changed:
        tags.append(f"REPLACE (type {resource.old_type} -> {resource.new_type})")
    elif resource.replaced:
        tags.append("REPLACE")
    if resource.action == "removed":
        tags.append("orphaned (DeletionPolicy Retain)" if resource.retained else "DELETE")
    head = f"{_SYMBOL[resource.action]} {resource.resource_type} {resource.logical_id}"
    if resource.construct_path:
        head += f" ({resource.construct_path})"
    if tags:
        head += "  " + " ".join(tags)
    return [head] + [_property_line(c) for c in resource.changes]


def _counts(diff: StackDiff) -> str:
    parts = [f"{diff.count(a)} {a}" for a in ("added", "modified", "removed") if diff.count(a)]
    if diff.sections:
        parts.append(f"{len(diff.sections)} other template change(s)")
    return ", ".join(parts) or "no differences"


def stack_text(diff: StackDiff) -> str:
    title = f"Stack {diff.display_name} ({diff.stack_name})"
    if diff.status == "unchanged":
        return f"{title}: no differences"
    status = {"added": "NEW STACK, ", "removed": "STACK REMOVED FROM THE APP, "}.get(diff.status, "")
    lines = [f"{title}: {status}{_counts(diff)}"]
    if diff.status == "removed":
        lines.append("  (cdk deploy leaves a removed stack in place; `cdk destroy` would delete it)")
    for resource in diff.resources:
        lines += _resource_lines(resource)
    for section in diff.sections:
        lines.append(f"{_SYMBOL[section.action]} {section.section} {section.key}")
    return "\n".join(lines)


def destructive_summary(diffs: Iterable[StackDiff]) -> list[str]:
    lines = []
    for diff in diffs:
        for resource in diff.destructive:
            if resource.action == "removed":
                what = "orphaned (removed, retained)" if resource.retained else "deleted"
            elif resource.type_changed:
                what = "replaced (type changed)"
            else:
                what = "replaced (" + ", ".join(
                    c.path for c in resource.changes if c.requires_replacement) + ")"
            lines.append(f"{diff.display_name}: {resource.resource_type} {resource.logical_id} {what}")
    return lines


def render_text(diffs: list[StackDiff], *, allow_stateful: bool, cost: Sequence[str] = ()) -> str:
    blocks = [stack_text(d) for d in diffs]
    changed = [d for d in diffs if d.status != "unchanged"]
    summary = [f"{len(diffs)} stack(s) compared, {len(changed)} with differences."]
    if not changed:
        summary.append(NO_DIFFERENCES)
    destructive = destructive_summary(diffs)
    if destructive:
        summary.append("Stateful resources that would be replaced or deleted:")
        summary += [f"  {line}" for line in destructive]
        summary.append("Allowed by --allow-stateful-changes." if allow_stateful else
                       f"BLOCKED: add the '{ALLOW_LABEL}' label to the pull request "
                       "(locally: --allow-stateful-changes) if this is intended.")
    if cost:
        summary += [""] + [line.replace("**", "").replace("`", "") for line in cost]
    return "\n\n".join(blocks + ["\n".join(summary)]) + "\n"


def render_markdown(diffs: list[StackDiff], *, allow_stateful: bool, base_label: str,
                    head_label: str, nag_passed: bool, nag_messages: list[str],
                    cost: Sequence[str] = ()) -> str:
    destructive = destructive_summary(diffs)
    acknowledged = sum(d.acknowledged_findings for d in diffs)
    lines = [COMMENT_MARKER, f"## Infrastructure diff: `{base_label}` → `{head_label}`", ""]
    if nag_passed:
        lines.append(f"**Security review** (cdk-nag AwsSolutions + notification-path guard): "
                     f"✅ passed — {acknowledged} finding(s) acknowledged with a reason.")
    else:
        lines.append("**Security review** (cdk-nag AwsSolutions + notification-path guard): ❌ failed")
        lines += [f"- {m}" for m in nag_messages[:50]]
    if not destructive:
        lines.append("**Stateful resources** (buckets, queues, keys, search domains, tables): "
                     "✅ none replaced or deleted.")
    else:
        verdict = (f"⚠️ allowed by the `{ALLOW_LABEL}` label" if allow_stateful else
                   f"⛔ blocked — add the `{ALLOW_LABEL}` label if this is intended")
        lines.append(f"**Stateful resources**: {len(destructive)} would be replaced or deleted: {verdict}")
        lines += [f"- `{line}`" for line in destructive]
    if cost:
        lines += [""] + list(cost)
    lines += ["", "| Stack | CloudFormation stack | Status | Added | Modified | Removed |",
              "| --- | --- | --- | --- | --- | --- |"]
    for d in diffs:
        status = "⛔ " + d.status if d.destructive else d.status
        lines.append(f"| `{d.display_name}` | `{d.stack_name}` | {status} | {d.count('added')} "
                     f"| {d.count('modified')} | {d.count('removed')} |")
    if not any(d.status != "unchanged" for d in diffs):
        lines += ["", NO_DIFFERENCES]
    details = []
    for d in diffs:
        if d.status == "unchanged":
            continue
        details += ["", f"<details><summary><code>{d.display_name}</code>: {_counts(d)}</summary>",
                    "", "```", stack_text(d), "```", "", "</details>"]
    body = "\n".join(lines)
    detail_text = "\n".join(details)
    if len(body) + len(detail_text) > MAX_COMMENT_CHARS:
        detail_text = ("\n\nThe per-stack details are too long for a comment: see the job summary "
                       "or the `cdk-diff` artifact.")
    return body + "\n" + detail_text + "\n"
