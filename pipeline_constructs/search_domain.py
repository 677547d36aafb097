"""The OpenSearch domain the workers index into: created in the VPC, or imported from config."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from config import SearchConfig, retention_days
from pipeline_constructs.nag import acknowledge, acknowledge_stack_singleton

# The id CDK gives the stack-wide Lambda behind every AwsCustomResource.
_AWS_CUSTOM_RESOURCE_SINGLETON_ID = "AWS679f53fac002430cb0da5b7982bd2287"


class SearchDomain(Construct):
    """VPC-only, encrypted, HTTPS-only (TLS 1.2+) domain; access is by IAM (SigV4) alone.

    The domain has no resource-based access policy: a request is allowed only by an identity
    policy that names it (the worker role's, on the index path), and only from inside the VPC.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: SearchConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        log_retention_days: int,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)

        if settings.imported:
            self.domain = opensearch.Domain.from_domain_attributes(
                self,
                "Domain",
                domain_arn=settings.existing_domain_arn,
                domain_endpoint=settings.existing_domain_endpoint,
            )
            self.endpoint_url = settings.existing_domain_endpoint
            return

        def log_group(name: str) -> logs.LogGroup:
            return logs.LogGroup(
                self, name, retention=retention_days(log_retention_days), removal_policy=removal_policy
            )

        azs = settings.availability_zone_count
        self.domain = opensearch.Domain(
            self,
            "Domain",
            version=opensearch.EngineVersion.open_search(settings.engine_version),
            vpc=vpc,
            # One subnet per AZ the domain spans: OpenSearch requires exactly that many.
            vpc_subnets=[ec2.SubnetSelection(
                subnet_type=subnets.subnet_type, availability_zones=vpc.availability_zones[:azs]
            )],
            security_groups=[security_group],
            capacity=opensearch.CapacityConfig(
                data_nodes=settings.data_node_count,
                data_node_instance_type=settings.data_node_instance_type,
                master_nodes=settings.master_node_count or None,
                master_node_instance_type=(
                    settings.master_node_instance_type if settings.master_node_count else None
                ),
                multi_az_with_standby_enabled=False,
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(
                enabled=azs > 1, availability_zone_count=azs if azs > 1 else None
            ),
            ebs=opensearch.EbsOptions(
                volume_size=settings.volume_size_gib,
                volume_type=ec2.EbsDeviceVolumeType.GP3,
            ),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True,
                slow_search_log_group=log_group("SlowSearchLogs"),
                slow_index_log_enabled=True,
                slow_index_log_group=log_group("SlowIndexLogs"),
                app_log_enabled=True,
                app_log_group=log_group("ErrorLogs"),
            ),
            removal_policy=removal_policy,
        )
        self.endpoint_url = f"https://{self.domain.domain_endpoint}"

        # CDK writes the domain's log-publishing resource policy through an AwsCustomResource.
        acknowledge(
            self.domain,
            "AwsSolutions-IAM5[Resource::*]",
            "CloudWatch Logs resource policies (logs:PutResourcePolicy/DeleteResourcePolicy) "
            "have no resource-level permissions; CDK's handler only sets this domain's policy.",
        )
        acknowledge_stack_singleton(Stack.of(self), _AWS_CUSTOM_RESOURCE_SINGLETON_ID, {
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]":
                "CDK's AwsCustomResource handler (sets the log resource policy at deploy time) "
                "writes only its own log stream; CDK attaches this managed policy.",
        })
        acknowledge(
            self.domain,
            "AwsSolutions-OS3",
            "The domain is reachable only inside the VPC (security group admits the workers on "
            "443) and every request must be SigV4-signed by an IAM identity allowed on the "
            "index path; an IP allow-list would add nothing inside an isolated VPC.",
        )
        acknowledge(
            self.domain,
            "AwsSolutions-OS5",
            "Anonymous access is impossible: the domain has no resource policy, so only IAM "
            "identities with an explicit es:ESHttp* grant (the worker role) can call it, and "
            "only from inside the VPC.",
        )
        if settings.master_node_count == 0:
            acknowledge(
                self.domain,
                "AwsSolutions-OS4",
                "Without dedicated masters by configuration (master_node_count=0): a small "
                "non-production domain; prod runs three dedicated master nodes.",
            )
        if azs == 1:
            acknowledge(
                self.domain,
                "AwsSolutions-OS7",
                "A one-node development domain cannot span zones; staging and prod enable "
                "zone awareness across two AZs.",
            )
