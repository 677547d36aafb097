"""CDK's two deploy-time handlers of the Stateful stack, moved into the VPC (issue #24).

The bucket-notifications handler (every environment) and the auto-delete-objects provider
(`bucket.auto_delete_objects`, dev) are functions CDK adds without a VPC option, which Control
Tower's `CT.LAMBDA.PR.3` refuses. Here each gets a `VpcConfig`: the Network stack's isolated
subnets, named as SSM dynamic references (stacks/shared/vpc_parameters.py; the rule accepts
strings, not cross-stack references), and one security group created in this stack (a `Ref`
in the same template, which the rule accepts), whose VpcId is a dynamic reference too.

What they call from there: S3 (the bucket's notification configuration; the auto-delete
handler's tags, policy, versions and deletes) and CloudFormation's pre-signed S3 response URL,
both through the S3 gateway endpoint, whose policy admits exactly those calls
(stacks/network/worker_network.py, `s3_endpoint_statements`). Their logs reach CloudWatch
through Lambda's service, not through the VPC. The Stateful stack therefore depends on the
Network stack (stacks/ingestion_stage.py), and the Network stack names no Stateful resource.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from contract.names import STATEFUL_FUNCTION_GROUP_ID
from stacks.network.default_sg_function import VPC_ACCESS_POLICY

# The ids CDK gives the two handlers (stack-level singletons; the notifications handler's id
# ends in a hash: aws-s3/lib/notifications-resource/notifications-resource-handler.ts).
NOTIFICATIONS_HANDLER_ID_PREFIX = "BucketNotificationsHandler"
AUTO_DELETE_PROVIDER_ID = "Custom::S3AutoDeleteObjectsCustomResourceProvider"
# The custom resources those handlers serve.
CUSTOM_RESOURCE_TYPES = ("Custom::S3BucketNotifications", "Custom::S3AutoDeleteObjects")


def put_handlers_in_vpc(stack: Stack, *, vpc_id: str, subnet_ids: list[str]) -> ec2.CfnSecurityGroup:
    """Give both handlers (the second when present) `subnet_ids` and one security group of
    `vpc_id`, with HTTPS egress only; their custom resources wait for the group."""
    scope = Construct(stack, "CdkHandlersInVpc")
    # HTTPS to anywhere: S3's address ranges are a per-region prefix list whose id is known only
    # to a lookup (credentials at synthesis); the isolated subnets route nowhere but to the
    # endpoints, and the S3 endpoint's policy admits only these handlers' calls.
    group = ec2.CfnSecurityGroup(
        scope, STATEFUL_FUNCTION_GROUP_ID, vpc_id=vpc_id,
        group_description="Deploy-time bucket handlers (notifications, auto-delete): HTTPS to S3 only",
        security_group_egress=[ec2.CfnSecurityGroup.EgressProperty(
            ip_protocol="tcp", from_port=443, to_port=443, cidr_ip="0.0.0.0/0",
            description="HTTPS to S3 (bucket calls, CloudFormation's response bucket)")],
    )
    vpc_config = {"SubnetIds": list(subnet_ids), "SecurityGroupIds": [group.ref]}
    vpc_access = iam.ManagedPolicy.from_aws_managed_policy_name(VPC_ACCESS_POLICY).managed_policy_arn

    handler = notifications_handler(stack)
    function = _expect(handler.node.find_child("Resource"), "AWS::Lambda::Function")
    role = handler.node.find_child("Role")
    if not isinstance(role, iam.Role):
        raise TypeError(f"{role.node.path}: expected CDK's iam.Role")
    function.add_property_override("VpcConfig", vpc_config)
    # On the L1 property, not an override, so that cdk-nag (which reads properties) sees it:
    # it replaces AWSLambdaBasicExecutionRole, whose three log actions it holds.
    role_resource = role.node.default_child
    assert isinstance(role_resource, iam.CfnRole)
    role_resource.managed_policy_arns = [vpc_access]

    provider = stack.node.try_find_child(AUTO_DELETE_PROVIDER_ID)
    if provider is not None:
        provider_function = _expect(provider.node.find_child("Handler"), "AWS::Lambda::Function")
        provider_role = _expect(provider.node.find_child("Role"), "AWS::IAM::Role")
        provider_function.add_property_override("VpcConfig", vpc_config)
        provider_role.add_property_override("ManagedPolicyArns", [vpc_access])

    # Created after the group and deleted before it (a function's last call, on Delete, goes out
    # through it); the Network stack's endpoints and routes come first by the stack dependency.
    for resource in _custom_resources(stack):
        resource.add_resource_dependency(group)
    return group


def _expect(construct: IConstruct, resource_type: str) -> CfnResource:
    if not isinstance(construct, CfnResource) or construct.cfn_resource_type != resource_type:
        raise TypeError(f"{construct.node.path}: expected CDK's {resource_type} resource")
    return construct


def cdk_handler_functions(stack: Stack) -> list[CfnResource]:
    """The functions of CDK's handlers in `stack`: the notifications handler and, where the
    buckets are emptied on `cdk destroy`, the auto-delete one."""
    found = [_expect(notifications_handler(stack).node.find_child("Resource"), "AWS::Lambda::Function")]
    provider = stack.node.try_find_child(AUTO_DELETE_PROVIDER_ID)
    if provider is not None:
        found.append(_expect(provider.node.find_child("Handler"), "AWS::Lambda::Function"))
    return found


def notifications_handler(stack: Stack) -> IConstruct:
    """CDK's stack-wide notifications-handler singleton in `stack` (fails unless exactly one)."""
    found = [child for child in stack.node.children
             if child.node.id.startswith(NOTIFICATIONS_HANDLER_ID_PREFIX)]
    if len(found) != 1:
        raise ValueError(f"{stack.node.path}: expected one CDK bucket-notifications handler, "
                         f"found {[c.node.id for c in found]}")
    return found[0]


def _custom_resources(stack: Stack) -> list[CfnResource]:
    return [c for c in stack.node.find_all()
            if isinstance(c, CfnResource) and c.cfn_resource_type in CUSTOM_RESOURCE_TYPES]
