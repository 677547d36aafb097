"""A declared log group for each of CDK's own deploy-time functions.

CDK's handlers (bucket notifications, the default-security-group restriction, dev's auto-delete)
declare no log group: Lambda would create `/aws/lambda/<name>` on the first run, with
CloudWatch's default encryption and no expiry. Each gets one here, in its stack, with the
stack's log key and the environment's retention, like every other log group of the app, and the
function writes to it (`LoggingConfig.LogGroup`; the function's role may already write to any
log group: CDK gives it AWS's basic or VPC execution policy).
"""

from __future__ import annotations

from aws_cdk import CfnResource, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs

from stacks.shared.cdk_values import retention_days

LOG_GROUP_ID = "Logs"


def declare_function_log_group(function: CfnResource, *, retention: int,
                               key: kms.IKey | None) -> logs.LogGroup:
    """A log group beside `function` (a child of the same CDK construct, id "Logs") that the
    function writes to. Its name is generated (`<stack name>-...`), which the stack's log key
    admits (stacks/shared/log_encryption.py). Deleted with the stack: deploy-time lines only."""
    if function.cfn_resource_type != "AWS::Lambda::Function":
        raise TypeError(f"{function.node.path}: expected an AWS::Lambda::Function")
    group = logs.LogGroup(function.node.scope, LOG_GROUP_ID, retention=retention_days(retention),
                          encryption_key=key, removal_policy=RemovalPolicy.DESTROY)
    function.add_property_override("LoggingConfig", {"LogGroup": group.log_group_name})
    return group
