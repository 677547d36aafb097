"""Read the stacks of a synthesized cloud assembly (cdk.out), nested stage assemblies included."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_ASSEMBLY = "cdk:cloud-assembly"
ACKNOWLEDGED = "aws:cdk:acknowledged-rules"


@dataclass(frozen=True)
class StackTemplate:
    display_name: str  # e.g. "dev/Stateful": what `cdk` selectors and reviewers use
    stack_name: str  # e.g. "file-search-dev-stateful": the deployed CloudFormation stack
    template_file: Path
    template: dict[str, Any] = field(repr=False)
    acknowledged_findings: int = 0


def read_stacks(assembly_dir: Path) -> dict[str, StackTemplate]:
    """Every stack of the assembly, keyed by CloudFormation stack name (the deployed identity:
    a stack keeps its name when its construct path moves, and that is what would be updated)."""
    stacks: dict[str, StackTemplate] = {}
    _collect(Path(assembly_dir), stacks)
    return dict(sorted(stacks.items(), key=lambda kv: kv[1].display_name))


def _collect(directory: Path, stacks: dict[str, StackTemplate]) -> None:
    manifest_file = directory / "manifest.json"
    if not manifest_file.is_file():
        raise FileNotFoundError(f"{manifest_file}: not a cloud assembly (run `make synth`)")
    manifest = json.loads(manifest_file.read_text())
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact.get("type") == NESTED_ASSEMBLY:
            _collect(directory / properties["directoryName"], stacks)
        elif artifact.get("type") == STACK_ARTIFACT:
            template_file = directory / properties["templateFile"]
            stack_name = properties.get("stackName", artifact_id)
            stacks[stack_name] = StackTemplate(
                display_name=artifact.get("displayName", artifact_id),
                stack_name=stack_name,
                template_file=template_file,
                template=json.loads(template_file.read_text()),
                acknowledged_findings=_count_acknowledged(directory, artifact),
            )


def _count_acknowledged(directory: Path, artifact: dict[str, Any]) -> int:
    """Findings acknowledged (with a reason) in this stack, as recorded by CDK (cdk-nag and
    Control Tower)."""
    metadata: dict[str, list[dict[str, Any]]] = dict(artifact.get("metadata", {}))
    extra = artifact.get("additionalMetadataFile")
    if extra and (directory / extra).is_file():
        metadata.update(json.loads((directory / extra).read_text()))
    return sum(
        len(entry.get("data") or {})
        for entries in metadata.values()
        for entry in entries
        if entry.get("type") == ACKNOWLEDGED
    )


def validation_summary(assembly_dir: Path) -> tuple[bool, list[str]]:
    """(passed, messages) from `validation-report.json`, the report of the synthesis checks
    (cdk-nag AwsSolutions, Control Tower controls, the notification-path guard). An absent
    report means no plugin reported anything; synthesis itself fails on unacknowledged findings."""
    report_file = Path(assembly_dir) / "validation-report.json"
    if not report_file.is_file():
        return True, []
    report = json.loads(report_file.read_text())
    messages = []
    passed = True
    for plugin in report.get("pluginReports", []):
        # aws-cdk-lib 2.2xx writes `conclusion`; older versions wrote `summary.status`.
        conclusion = plugin.get("conclusion") or plugin.get("summary", {}).get("status", "success")
        name = plugin.get("pluginName") or plugin.get("summary", {}).get("pluginName", "?")
        if str(conclusion).lower() != "success":
            passed = False
        for violation in plugin.get("violations", []):
            messages.append(f"{name}: {violation.get('ruleName', '?')}: "
                            f"{violation.get('description', '')}".strip())
    return passed, messages
