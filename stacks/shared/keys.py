"""Customer-managed KMS keys: one baseline for every key the pipeline creates."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


def customer_managed_key(
    scope: Construct, construct_id: str, *, description: str, removal_policy: RemovalPolicy
) -> kms.Key:
    """A rotated key whose grants can only be created for AWS resources (CT.KMS.PR.3).

    The deny stops a principal with kms:CreateGrant from handing the key's use to an arbitrary
    principal; services that create grants on the caller's behalf (S3, EBS, Logs) still can,
    because for them kms:GrantIsForAWSResource is true.
    """
    key = kms.Key(
        scope, construct_id, description=description, enable_key_rotation=True,
        removal_policy=removal_policy,
    )
    key.add_to_resource_policy(iam.PolicyStatement(
        sid="GrantsOnlyForAwsResources",
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=["kms:CreateGrant"],
        resources=["*"],
        conditions={"BoolIfExists": {
            "kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}},
    ))
    return key
