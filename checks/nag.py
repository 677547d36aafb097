"""cdk-nag acknowledgements, kept next to the resources they concern."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

MIN_REASON_LENGTH = 40


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one exact cdk-nag finding on `scope` (and its children) with a real reason.

    `finding` is the full id cdk-nag prints, e.g.
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/...]".
    """
    if not finding.startswith("AwsSolutions-"):
        raise ValueError(f"not a cdk-nag AwsSolutions finding id: {finding!r}")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"acknowledgement of {finding} needs a specific reason, got {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=finding, reason=reason))


def wildcard_resource_finding(scope: IConstruct, resource: str) -> str:
    """The IAM5 finding id cdk-nag reports for a policy resource that may contain tokens.

    cdk-nag renders a resolved Fn::Join by writing literal parts as they are, Ref and GetAtt
    as <Name> and <LogicalId.Attr>, other intrinsics as compact JSON. Only references inside
    the same stack are predictable at construction time, so grant cross-stack access with a
    managed policy defined next to the resource.
    """
    return f"AwsSolutions-IAM5[Resource::{_render(Stack.of(scope).resolve(resource))}]"


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(_render(part) for part in parts)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    return json.dumps(value, separators=(",", ":"))


def acknowledge_stack_singleton(
    stack: Stack, id_prefix: str, findings: dict[str, str]
) -> None:
    """Acknowledge findings on a singleton CDK adds at stack level (a custom-resource handler)."""
    for child in stack.node.children:
        if child.node.id.startswith(id_prefix):
            for finding, reason in findings.items():
                acknowledge(child, finding, reason)
