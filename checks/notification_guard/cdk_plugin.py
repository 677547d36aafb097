"""The CDK policy-validation plugin: the guard's findings as a validation report.

Duplicate paths are violations with severity "error" and make the report unsuccessful, so
synthesis fails. Lambda notifications are violations with severity "warning" in a report that
stays successful: CDK prints them and writes them to `validation-report.json`, and synthesis
goes on (CDK fails synthesis only on an unsuccessful report; severity is for reporting).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
)

from checks.notification_guard.analysis import find_duplicate_paths, find_lambda_notifications
from checks.notification_guard.findings import LAMBDA_REVIEW_RULE_NAME, RULE_NAME

VERSION = "1.2.0"


@jsii.implements(IPolicyValidationPlugin)
class SingleNotificationPathGuard:
    """CDK validation plugin: synthesis fails while any queue has two S3 notification paths."""

    @property
    def name(self) -> str:
        return "SingleNotificationPathGuard"

    @property
    def version(self) -> str:
        return VERSION

    @property
    def rule_ids(self) -> list[str]:
        return [RULE_NAME, LAMBDA_REVIEW_RULE_NAME]

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        templates = {p: json.loads(Path(p).read_text()) for p in context.template_paths}
        stack_names = _stack_names(templates)
        duplicates = find_duplicate_paths(templates, stack_names)
        lambdas = find_lambda_notifications(templates, stack_names)
        return PolicyValidationPluginReport(
            success=not duplicates,
            violations=[
                PolicyViolation(
                    rule_name=RULE_NAME,
                    severity="error",
                    description=v.message,
                    fix="Remove the extra QueueConfiguration / EventBridge configuration, rule "
                        "or pipe; see README 'One notification path'.",
                    violating_resources=[
                        _resource(p.template_path, p.logical_id, p.location) for p in v.paths
                    ],
                )
                for v in duplicates
            ] + [
                PolicyViolation(
                    rule_name=LAMBDA_REVIEW_RULE_NAME,
                    severity="warning",
                    description=n.message,
                    fix="Check the function's code; see README 'One notification path'.",
                    violating_resources=[_resource(n.template_path, n.logical_id, n.location)],
                )
                for n in lambdas
            ],
        )


def _resource(template_path: str, logical_id: str, location: str) -> PolicyViolatingResource:
    return PolicyViolatingResource(resource_logical_id=logical_id, template_path=template_path,
                                   locations=[location])


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
