"""The customer-managed key that encrypts a stack's CloudWatch log groups."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.shared.keys import customer_managed_key


class LogEncryptionKey(Construct):
    """A key CloudWatch Logs may use only for this stack's log groups (CT.CLOUDWATCH.PR.3).

    One per stack that owns log groups: a key in another stack would be a cross-stack
    reference, which Control Tower's rule cannot follow at synthesis, and this way each key's
    policy names one stack's log groups only. The log groups are created after the key, so
    the policy names what CloudFormation generates for a log group without a name:
    `<stack name>-<logical id>-<suffix>`. Writers and readers of the logs need no KMS
    permission of their own: CloudWatch Logs encrypts and decrypts on their behalf.
    """

    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = customer_managed_key(
            self, "Key", removal_policy=removal_policy,
            description=f"Encrypts the CloudWatch log groups of {stack.stack_name}",
        )
        self.log_group_arn_pattern = stack.format_arn(
            service="logs", resource="log-group", resource_name=f"{stack.stack_name}-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchLogsForThisStacksLogGroups",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                     "kms:Describe*"],
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": self.log_group_arn_pattern}},
        ))


def log_key_for(scope: Construct, *, enabled: bool, removal_policy: RemovalPolicy) -> kms.IKey | None:
    """The stack's log key when the environment wants one (None: AWS-managed encryption).

    Give it the removal policy of the log groups it encrypts: a retained log group whose key
    was deleted cannot be read.
    """
    return LogEncryptionKey(scope, "LogKey", removal_policy=removal_policy).key if enabled else None
