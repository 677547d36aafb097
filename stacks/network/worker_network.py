"""The workers' network: isolated subnets, no NAT, AWS APIs through VPC endpoints."""

from __future__ import annotations

from aws_cdk import Acknowledgment, DefaultStackSynthesizer, Fn, RemovalPolicy, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from config import NetworkConfig
from stacks.network.default_sg_function import has_default_sg_function, put_default_sg_function_in_vpc
from stacks.shared.cdk_values import retention_days

HTTPS = ec2.Port.tcp(443)

# The S3 calls of the Stateful stack's CDK handlers, as IAM actions (aws-cdk-lib's
# custom-resource-handlers/dist/aws-s3): the notifications handler reads and writes the bucket's
# notification configuration; the auto-delete handler (dev, `bucket.auto_delete_objects`) reads
# the bucket's tags and policy, denies new uploads in the policy, lists the object versions and
# deletes them (DeleteObjects with version ids).
NOTIFICATIONS_HANDLER_ACTIONS = ("s3:GetBucketNotification", "s3:PutBucketNotification")
AUTO_DELETE_BUCKET_ACTIONS = ("s3:GetBucketTagging", "s3:GetBucketPolicy", "s3:PutBucketPolicy",
                              "s3:ListBucketVersions")
AUTO_DELETE_OBJECT_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion")

# Interface endpoints for every AWS API an instance calls: the worker (SQS, Auto Scaling for
# its lifecycle action), the CloudWatch agent (Logs, monitoring), Session Manager (SSM,
# SSM messages, EC2 messages) and cfn-signal (CloudFormation) at start-up.
INTERFACE_ENDPOINTS = {
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "Ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
    "SsmMessages": ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
    "Ec2Messages": ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
    "AutoScaling": ec2.InterfaceVpcEndpointAwsService.AUTOSCALING,
    "CloudFormation": ec2.InterfaceVpcEndpointAwsService.CLOUDFORMATION,
}


class WorkerNetwork(Construct):
    """VPC (or an existing one) with the security groups of workers, endpoints and search domain.

    The S3 gateway endpoint admits, in this account's buckets only (`aws:ResourceAccount`),
    GetObject under `raw_prefix`, ListBucket, and the bucket calls of the Stateful stack's two
    deploy-time handlers; GetObject on the CDK asset bucket and the Amazon Linux package
    repositories the instances install from; and PutObject into CloudFormation's response
    bucket (deploy-time functions in the VPC answer CloudFormation through it).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: NetworkConfig,
        raw_prefix: str,
        auto_delete_objects: bool,
        removal_policy: RemovalPolicy,
        log_key: kms.IKey | None,
        search_settings_function: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        existing = settings.existing_vpc
        if existing is None:
            self.vpc = ec2.Vpc(
                self,
                "Vpc",
                ip_addresses=ec2.IpAddresses.cidr(settings.cidr),
                # CDK accepts one of the two.
                max_azs=None if settings.availability_zones else settings.max_azs,
                availability_zones=list(settings.availability_zones or ()) or None,
                nat_gateways=0,
                subnet_configuration=[
                    ec2.SubnetConfiguration(
                        name="workers", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                    )
                ],
            )
            if settings.availability_zones:
                Validations.of(self.vpc).acknowledge(Acknowledgment(
                    id="CloudFormation-Validate::W3010",
                    reason="Zones are chosen per environment (network.availability_zones) "
                           "where every interface endpoint service is offered (issue #18)."))
            flow_logs = logs.LogGroup(
                self,
                "FlowLogs",
                retention=retention_days(settings.flow_log_retention_days),
                removal_policy=removal_policy,
                encryption_key=log_key,
            )
            self.vpc.add_flow_log(
                "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs)
            )
        else:
            self.vpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=existing.vpc_id,
                vpc_cidr_block=existing.vpc_cidr_block,
                availability_zones=list(existing.availability_zones),
                isolated_subnet_ids=list(existing.isolated_subnet_ids),
                isolated_subnet_route_table_ids=list(existing.isolated_subnet_route_table_ids),
            )

        # Egress only, to the endpoints and the domain (HTTPS). 443 to anywhere is needed for the
        # S3 gateway endpoint, whose address ranges are a per-region prefix list; with no
        # internet or NAT route, nothing else is reachable.
        self.worker_security_group = ec2.SecurityGroup(
            self, "WorkerSecurityGroup", vpc=self.vpc, allow_all_outbound=False,
            description="Ingest workers: no ingress; HTTPS egress to endpoints, S3 and the domain",
        )
        self.worker_security_group.add_egress_rule(ec2.Peer.any_ipv4(), HTTPS, "HTTPS to AWS APIs")

        self.endpoint_security_group = ec2.SecurityGroup(
            self, "EndpointSecurityGroup", vpc=self.vpc, allow_all_outbound=False,
            description="VPC interface endpoints: HTTPS from the ingest workers only",
        )
        self.endpoint_security_group.add_ingress_rule(
            self.worker_security_group, HTTPS, "HTTPS from ingest workers"
        )

        self.search_security_group = ec2.SecurityGroup(
            self, "SearchSecurityGroup", vpc=self.vpc, allow_all_outbound=False,
            description="OpenSearch domain: HTTPS from the ingest workers only",
        )
        self.search_security_group.add_ingress_rule(
            self.worker_security_group, HTTPS, "HTTPS from ingest workers"
        )

        # The deploy-time function that configures the domain's security plugin: it talks to
        # the domain and to nothing else.
        self.search_settings_security_group: ec2.ISecurityGroup | None = None
        if search_settings_function:
            self.search_settings_security_group = ec2.SecurityGroup(
                self, "SearchSettingsSecurityGroup", vpc=self.vpc, allow_all_outbound=False,
                description="Deploy-time OpenSearch security settings: HTTPS to the domain only",
            )
            # By id, so the rule is inline: a separate egress resource would leave the group
            # with EC2's default allow-all rule (CDK drops its placeholder rule first).
            self.search_settings_security_group.add_egress_rule(
                ec2.Peer.security_group_id(self.search_security_group.security_group_id), HTTPS,
                "HTTPS to the OpenSearch domain",
            )
            self.search_security_group.add_ingress_rule(
                self.search_settings_security_group, HTTPS, "HTTPS from the security settings function"
            )
            # Its answer to CloudFormation: a PUT to a pre-signed URL in S3, through the gateway
            # endpoint. S3's prefix-list id differs per region and is only known to a lookup
            # (credentials at synthesis), so, as for the workers, 443 to anywhere: the isolated
            # subnets route nowhere else, and the endpoint's policy below admits only the PUT.
            self.search_settings_security_group.add_egress_rule(
                ec2.Peer.any_ipv4(), HTTPS, "HTTPS to S3 (CloudFormation's response bucket)")

        self.s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.subnets]
        )
        stack = Stack.of(self)
        for statement in s3_endpoint_statements(stack, raw_prefix=raw_prefix,
                                                auto_delete_objects=auto_delete_objects):
            self.s3_endpoint.add_to_policy(statement)
        endpoint_subnets = self.subnets
        if settings.interface_endpoint_azs is not None:
            endpoint_subnets = ec2.SubnetSelection(
                subnets=self.vpc.isolated_subnets[: settings.interface_endpoint_azs])
        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                f"{name}Endpoint",
                service=service,
                subnets=endpoint_subnets,
                private_dns_enabled=True,
                security_groups=[self.endpoint_security_group],
                open=False,
            )
        # CDK's default-SG function, when it restricts a VPC created here (Control Tower
        # CT.LAMBDA.PR.3): it also answers CloudFormation through S3.
        if has_default_sg_function(self.vpc):
            put_default_sg_function_in_vpc(
                self, vpc=self.vpc, subnets=self.vpc.isolated_subnets,
                endpoint_subnets=endpoint_subnets, s3_endpoint=self.s3_endpoint)



def s3_endpoint_statements(stack: Stack, *, raw_prefix: str,
                           auto_delete_objects: bool) -> list[iam.PolicyStatement]:
    """The S3 gateway endpoint's policy, without naming any bucket of this app: a resource
    perimeter (`aws:ResourceAccount`, the key AWS documents for data perimeters in VPC endpoint
    policies) instead of the raw bucket's ARN, so that Network needs nothing from the Stateful
    stack and deploys before it (the Stateful stack's handlers run in Network's subnets). IAM
    still limits each role to its own bucket; the endpoint only keeps every call inside this
    account's buckets, and to the actions listed here."""
    account = {"StringEquals": {"aws:ResourceAccount": stack.account}}
    every_bucket = f"arn:{stack.partition}:s3:::*"
    statements = [
        iam.PolicyStatement(
            sid="ReadOnlyRawFilesInThisAccount",
            principals=[iam.AnyPrincipal()],
            actions=["s3:GetObject", "s3:GetObjectVersion"],
            resources=[f"{every_bucket}/{raw_prefix}*"],
            conditions=account,
        ),
        # Not in this account (al2023-repos is AWS's): no account condition, exact buckets.
        iam.PolicyStatement(
            sid="ReadOnlyBootObjects",
            principals=[iam.AnyPrincipal()],
            actions=["s3:GetObject", "s3:GetObjectVersion"],
            resources=_boot_objects(stack),
        ),
        # The workers' ListBucket (404 rather than 403 for a missing object) must pass here too.
        iam.PolicyStatement(
            sid="ListOnlyBucketsInThisAccount",
            principals=[iam.AnyPrincipal()],
            actions=["s3:ListBucket"],
            resources=[every_bucket],
            conditions=account,
        ),
        # The Stateful stack's handlers in the VPC (stacks/stateful/handlers_in_vpc.py).
        iam.PolicyStatement(
            sid="BucketHandlersInThisAccount",
            principals=[iam.AnyPrincipal()],
            actions=list(NOTIFICATIONS_HANDLER_ACTIONS
                         + (AUTO_DELETE_BUCKET_ACTIONS if auto_delete_objects else ())),
            resources=[every_bucket],
            conditions=account,
        ),
    ]
    if auto_delete_objects:
        statements.append(iam.PolicyStatement(
            sid="AutoDeleteObjectsInThisAccount",
            principals=[iam.AnyPrincipal()],
            actions=list(AUTO_DELETE_OBJECT_ACTIONS),
            resources=[f"{every_bucket}/*"],
            conditions=account,
        ))
    # Every environment has a deploy-time function in the VPC (the notifications handler).
    statements.append(cloudformation_response_statement(stack))
    return statements


def _boot_objects(stack: Stack) -> list[str]:
    """What an instance downloads at boot: the worker asset from the CDK bootstrap bucket, and
    packages from the regional Amazon Linux 2023 repository bucket that dnf reads."""
    qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
    return [
        f"arn:{stack.partition}:s3:::cdk-{qualifier}-assets-{stack.account}-{stack.region}/*",
        f"arn:{stack.partition}:s3:::al2023-repos-{stack.region}-de612dc2/*",
    ]


def cloudformation_response_statement(stack: Stack) -> iam.PolicyStatement:
    """A deploy-time function in the VPC answers CloudFormation itself: a PUT to the pre-signed
    ResponseURL in the AWS-owned bucket `cloudformation-custom-resource-response-<region without
    dashes>` ("Setting up VPC endpoints for AWS CloudFormation"; e.g. ...-useast1). Only that
    bucket: not the dashed form, which is not the documented name; a bucket name AWS does not hold
    could be anyone's (a way out for data)."""
    region = Fn.join("", Fn.split("-", stack.region))
    return iam.PolicyStatement(
        sid="CloudFormationResponsesOnly",
        principals=[iam.AnyPrincipal()],
        actions=["s3:PutObject"],
        resources=[f"arn:{stack.partition}:s3:::cloudformation-custom-resource-response-{region}/*"],
    )
