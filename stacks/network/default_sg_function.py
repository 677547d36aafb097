"""CDK's default-security-group function, moved into the VPC it restricts (issue #24).

`ec2.Vpc` (feature flag `restrictDefaultSecurityGroup`) adds a deploy-time custom resource whose
function removes every rule of the VPC's default security group (CIS / Security Hub EC2.2) on
Create and puts the defaults back on Delete. CDK builds it with `CustomResourceProvider` (plain
CfnResources, one per stack) and offers no VPC option, so Control Tower's `CT.LAMBDA.PR.3`
refused it. Here its function gets a `VpcConfig` of the isolated subnets and a security group
of its own, all in this template (the rule accepts same-template references), and the VPC gets
what the function calls: the EC2 API through an interface endpoint, and CloudFormation's
pre-signed S3 response URL through the S3 gateway endpoint (its `CloudFormationResponsesOnly`
statement).
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract.names import NETWORK_FUNCTION_GROUP_ID

# The ids CDK gives the provider (stack level) and the custom resource (under the VPC).
PROVIDER_ID = "Custom::VpcRestrictDefaultSGCustomResourceProvider"
CUSTOM_RESOURCE_ID = "RestrictDefaultSecurityGroupCustomResource"
HTTPS = ec2.Port.tcp(443)
# The only EC2 calls the handler makes (aws-cdk-lib's restrict-default-security-group-handler),
# the same four its role is allowed on the default security group.
EC2_ACTIONS = ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
               "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"]
# What Lambda needs to attach a function to a VPC (network interfaces) and to write its logs: it
# replaces the AWSLambdaBasicExecutionRole CDK gives the role, whose three log actions it holds.
# The Fleet's security-settings function runs with it too (stacks/search/search_domain.py).
VPC_ACCESS_POLICY = "service-role/AWSLambdaVPCAccessExecutionRole"


def has_default_sg_function(vpc: ec2.IVpc) -> bool:
    """Whether CDK added the restriction to this VPC (never to an imported one)."""
    return vpc.node.try_find_child(CUSTOM_RESOURCE_ID) is not None


def put_default_sg_function_in_vpc(
    scope: Construct, *, vpc: ec2.Vpc, subnets: list[ec2.ISubnet],
    endpoint_subnets: ec2.SubnetSelection, s3_endpoint: ec2.GatewayVpcEndpoint,
) -> None:
    """Run CDK's default-SG function in `subnets` with its own security group, reaching only the
    EC2 endpoint (created here, in `endpoint_subnets`) and S3; the custom resource waits for
    both endpoints."""
    stack = Stack.of(scope)
    provider = stack.node.find_child(PROVIDER_ID)
    function = provider.node.find_child("Handler")
    role = provider.node.find_child("Role")
    custom_resource = vpc.node.find_child(CUSTOM_RESOURCE_ID)
    if not isinstance(function, CfnResource) or function.cfn_resource_type != "AWS::Lambda::Function":
        raise TypeError(f"{function.node.path}: expected CDK's AWS::Lambda::Function CfnResource")
    if not isinstance(role, CfnResource) or role.cfn_resource_type != "AWS::IAM::Role":
        raise TypeError(f"{role.node.path}: expected CDK's AWS::IAM::Role CfnResource")

    function_sg = ec2.SecurityGroup(
        scope, NETWORK_FUNCTION_GROUP_ID, vpc=vpc, allow_all_outbound=False,
        description="Deploy-time default-SG restriction: HTTPS to the EC2 endpoint and S3 only",
    )
    endpoint_sg = ec2.SecurityGroup(
        scope, "Ec2EndpointSecurityGroup", vpc=vpc, allow_all_outbound=False,
        description="EC2 API endpoint: HTTPS from the default-SG restriction function only",
    )
    # By id, so the rule is inline: a separate egress resource would leave the group with EC2's
    # default allow-all rule (CDK drops its placeholder rule first).
    function_sg.add_egress_rule(ec2.Peer.security_group_id(endpoint_sg.security_group_id), HTTPS,
                                "HTTPS to the EC2 API endpoint")
    # Its answer to CloudFormation: a PUT to a pre-signed URL in S3, through the gateway endpoint,
    # whose policy admits only that PUT. S3's prefix-list id is known only to a lookup
    # (credentials at synthesis), so 443 to anywhere, as for the workers: the isolated subnets
    # route nowhere else.
    function_sg.add_egress_rule(ec2.Peer.any_ipv4(), HTTPS, "HTTPS to S3 (CloudFormation's response bucket)")
    endpoint_sg.add_ingress_rule(function_sg, HTTPS, "HTTPS from the default-SG restriction function")

    # Its own security group, not the other endpoints': the workers never call the EC2 API, and
    # this function reaches no other endpoint.
    ec2_endpoint = vpc.add_interface_endpoint(
        "Ec2Endpoint", service=ec2.InterfaceVpcEndpointAwsService.EC2, subnets=endpoint_subnets,
        private_dns_enabled=True, security_groups=[endpoint_sg], open=False,
    )
    # Through this VPC the EC2 API does only what the function does, on the default group only.
    ec2_endpoint.add_to_policy(iam.PolicyStatement(
        sid="RestrictDefaultSecurityGroupOnly",
        principals=[iam.AnyPrincipal()],
        actions=EC2_ACTIONS,
        resources=[stack.format_arn(service="ec2", resource="security-group",
                                    resource_name=vpc.vpc_default_security_group)],
    ))

    function.add_property_override("VpcConfig", {
        "SubnetIds": [subnet.subnet_id for subnet in subnets],
        "SecurityGroupIds": [function_sg.security_group_id],
    })
    role.add_property_override("ManagedPolicyArns", [
        iam.ManagedPolicy.from_aws_managed_policy_name(VPC_ACCESS_POLICY).managed_policy_arn])
    # No cdk-nag finding to acknowledge: its IAM rules check `CfnRole` instances (and their
    # properties, not overrides), and CDK's provider writes this role as a plain CfnResource.
    # tests/infra/test_default_sg_function.py pins the role's permissions instead.

    # Created after, and deleted before, everything its function needs to answer: the
    # endpoints, the route to S3 (the gateway endpoint's entries in the subnets' route tables,
    # whose associations are part of each subnet) and the rules of both security groups. On
    # Delete the function puts the default rules back, through the same endpoints.
    custom_resource.node.add_dependency(ec2_endpoint, s3_endpoint, function_sg, endpoint_sg, *subnets)
