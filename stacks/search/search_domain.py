"""The OpenSearch domain the workers index into: created in the VPC, or imported from config."""

from __future__ import annotations

from aws_cdk import ArnFormat, CfnOutput, RemovalPolicy, Stack, Tags, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

import search_index
from checks.nag import acknowledge, wildcard_resource_finding
from config import SearchConfig
from contract.names import NAME_PREFIX, SEARCH
from stacks.shared.cdk_values import retention_days

# What a Lambda function in a VPC needs (logs, network interfaces).
_LAMBDA_IN_VPC_POLICIES = ("AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole")
# Every HTTP verb: the master user administers the domain (security API, dashboards).
_ADMIN_HTTP_ACTIONS = ["es:ESHttpDelete", "es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPatch",
                       "es:ESHttpPost", "es:ESHttpPut"]
# What OpenSearch needs on a log group to publish into it.
_LOG_PUBLISHING_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]
# The owner's Search stack outputs its log policy's name under this key; the other environments'
# Search stacks read it (a weak reference), which fails their deployment while it is missing.
LOG_POLICY_OUTPUT = "OpenSearchLogPolicyName"
# Tag on a domain whose log policy another environment's Search stack owns: its value is read
# from that stack, so CloudFormation resolves it before creating the domain.
LOG_POLICY_TAG = "opensearch-log-policy"


def administrators_principal(stack: Stack, admin_role_name: str) -> iam.IPrincipal:
    """The account, limited by `aws:PrincipalArn` to the administrators' role.

    Not the role itself as principal: IAM refuses a trust policy naming a role that does not
    exist (MalformedPolicyDocument, "Invalid principal"), which would fail the Search stack's
    first deployment whenever the administrators' role is created after it, and a role deleted
    and created again would be locked out (the principal turns into its old unique id). With the
    account as principal, the caller also needs `sts:AssumeRole` on this role in its own
    identity policy (docs/security.md).
    """
    role_arn = stack.format_arn(service="iam", region="", resource="role",
                                resource_name=admin_role_name)
    return iam.AccountRootPrincipal().with_conditions({"ArnEquals": {"aws:PrincipalArn": role_arn}})


class SearchDomain(Construct):
    """VPC-only, encrypted, HTTPS-only (TLS 1.2+) domain; access is by IAM (SigV4) alone.

    The domain has no resource-based access policy: a request is allowed only by an identity
    policy that names it (the worker role's, on the index path), and only from inside the VPC.
    With fine-grained access control (config) OpenSearch also checks the caller's mapped role:
    the master user is `admin_role`; the worker's mapping is SearchSecuritySettings' job.
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
        log_key: kms.IKey | None,
        log_policy_owner_stack: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # The domain's master user when this app creates the domain with fine-grained access
        # control: an IAM role that the configured administrators' role may assume, and that
        # the deploy-time security settings (SearchSecuritySettings) run as.
        self.admin_role: iam.Role | None = None
        # The role the deploy-time settings function (SearchSecuritySettings) runs as: the
        # master role with fine-grained access control; without it (dev) IAM alone decides, and
        # a role that may only put the index template and create the first index suffices.
        # None for an imported domain: this app does not configure it.
        self.deploy_role: iam.Role | None = None

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
                self, name, retention=retention_days(log_retention_days),
                removal_policy=removal_policy, encryption_key=log_key,
            )

        if settings.configures_security_plugin:
            self.admin_role = iam.Role(
                self, "AdminRole",
                assumed_by=iam.CompositePrincipal(
                    iam.ServicePrincipal("lambda.amazonaws.com"),
                    administrators_principal(Stack.of(self), settings.admin_role_name),
                ),
                description="OpenSearch master user (fine-grained access control) of this domain",
                managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(
                    f"service-role/{name}") for name in _LAMBDA_IN_VPC_POLICIES],
            )

        log_groups = {"SlowSearchLogs": log_group("SlowSearchLogs"),
                      "SlowIndexLogs": log_group("SlowIndexLogs"), "ErrorLogs": log_group("ErrorLogs")}
        if self.admin_role:
            log_groups["AuditLogs"] = log_group("AuditLogs")

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
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(
                master_user_arn=self.admin_role.role_arn,
            ) if self.admin_role else None,
            logging=opensearch.LoggingOptions(
                audit_log_enabled=True if self.admin_role else None,
                audit_log_group=log_groups.get("AuditLogs"),
                slow_search_log_enabled=True,
                slow_search_log_group=log_groups["SlowSearchLogs"],
                slow_index_log_enabled=True,
                slow_index_log_group=log_groups["SlowIndexLogs"],
                app_log_enabled=True,
                app_log_group=log_groups["ErrorLogs"],
            ),
            # Written natively below instead of by CDK's AwsCustomResource (a deploy-time
            # Lambda function with an unencrypted log group, CT.LAMBDA.PR.3 / CT.CLOUDWATCH.PR.3).
            suppress_logs_resource_policy=True,
            removal_policy=removal_policy,
        )
        # OpenSearch checks at creation that it may write to the log groups, so the domain
        # waits for the policy: in this stack, or deployed before in the owner's stack.
        self.log_publishing_policy: logs.ResourcePolicy | None = None
        if log_policy_owner_stack is None:
            self.log_publishing_policy = self._log_publishing_policy()
            self.domain.node.add_dependency(self.log_publishing_policy)
            CfnOutput(Stack.of(self), LOG_POLICY_OUTPUT,
                      value=self.log_publishing_policy_name(Stack.of(self).stack_name),
                      description="CloudWatch Logs resource policy that lets every OpenSearch "
                                  "domain of this app in the account and region publish logs")
        else:
            Tags.of(self.domain).add(LOG_POLICY_TAG, Token.as_string({"Fn::GetStackOutput": {
                "StackName": log_policy_owner_stack, "OutputName": LOG_POLICY_OUTPUT}}))
        self.endpoint_url = f"https://{self.domain.domain_endpoint}"
        if self.admin_role:
            self._grant_admin_http_access(self.admin_role)
        self.deploy_role = self.admin_role or self._index_bootstrap_role(settings.index_name)

        if self.admin_role:
            acknowledge(
                self.admin_role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]",
                "The master role runs the deploy-time security-settings function, which writes "
                "only its own log stream; this managed policy is the standard for that.",
            )
            acknowledge(
                self.admin_role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaVPCAccessExecutionRole]",
                "The security-settings function must run in the VPC (the domain has no public "
                "endpoint); Lambda needs these ENI permissions, which have no resource scope.",
            )
            acknowledge(
                self.admin_role,
                wildcard_resource_finding(self, f"{self.domain.domain_arn}/*"),
                "The domain's administrator: every path of this one domain, nothing else.",
            )
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
            "identities with an explicit es:ESHttp* grant (the worker role; the master role "
            "with fine-grained access control) can call it, and only from inside the VPC.",
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

    @staticmethod
    def log_publishing_policy_name(owner_stack_name: str) -> str:
        """The name the owner gives the policy (unchanged since it was one per domain)."""
        return f"{owner_stack_name}-opensearch-logs"

    def _log_publishing_policy(self) -> logs.ResourcePolicy:
        """The CloudWatch Logs resource policy that lets OpenSearch write the domains' logs.

        One per account and region, for every domain of this app there: a region holds at most
        10 log resource policies per account (docs/security.md). Least privilege: only
        es.amazonaws.com, only on behalf of a domain of this account and region, only into the
        log groups of a Search stack of this app (`file-search-<env>-search-<logical id>-...`,
        the names CloudFormation generates; an environment name holds no '-'). It cannot name
        the domains' ARNs: a domain depends on the policy (OpenSearch checks it at creation)
        and CloudFormation generates the domain's name.
        """
        stack = Stack.of(self)
        return logs.ResourcePolicy(
            self, "LogPublishingPolicy",
            resource_policy_name=self.log_publishing_policy_name(stack.stack_name),
            policy_statements=[iam.PolicyStatement(
                sid="OpenSearchPublishesThisAppsDomainLogs",
                principals=[iam.ServicePrincipal("es.amazonaws.com")],
                actions=_LOG_PUBLISHING_ACTIONS,
                resources=[stack.format_arn(
                    service="logs", resource="log-group",
                    resource_name=f"{NAME_PREFIX}-*-{SEARCH}-*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME)],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": stack.format_arn(
                        service="es", resource="domain", resource_name="*")},
                },
            )],
        )

    def _index_bootstrap_role(self, base: str) -> iam.Role:
        """What search_index.bootstrap_requests sends, and nothing else: GET the read alias,
        PUT the template, PUT the first versioned index."""
        role = iam.Role(
            self, "IndexBootstrapRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Deploy-time: puts the file index's template and creates its first "
                        "index and aliases (domain without fine-grained access control)",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(
                f"service-role/{name}") for name in _LAMBDA_IN_VPC_POLICIES],
        )
        arn = self.domain.domain_arn
        first = search_index.versioned_name(base, search_index.mapping_version())
        role.add_to_policy(iam.PolicyStatement(
            sid="BootstrapTheFileIndex", actions=["es:ESHttpGet", "es:ESHttpPut"],
            resources=[f"{arn}/_alias/{search_index.read_alias(base)}",
                       f"{arn}/_index_template/{base}", f"{arn}/{first}"],
        ))
        for name in _LAMBDA_IN_VPC_POLICIES:
            acknowledge(
                role, f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                      f"service-role/{name}]",
                "The deploy-time index bootstrap function runs in the VPC (the domain is "
                "VPC-only): Lambda's standard policies for its log stream and network interfaces, "
                "which have no resource scope.",
            )
        return role

    def _grant_admin_http_access(self, role: iam.Role) -> None:
        """The domain has no resource policy: the master role needs an identity policy too."""
        role.add_to_policy(iam.PolicyStatement(
            sid="AdministerThisDomain",
            actions=_ADMIN_HTTP_ACTIONS,
            resources=[self.domain.domain_arn, f"{self.domain.domain_arn}/*"],
        ))
