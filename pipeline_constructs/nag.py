"""cdk-nag acknowledgements, kept next to the resources they concern."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
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
