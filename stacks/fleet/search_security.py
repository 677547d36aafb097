"""Fine-grained access control inside OpenSearch: what CloudFormation cannot declare.

The domain's master user is an IAM role (created with the domain). At deploy time a custom
resource, running as that role inside the VPC, defines a role that may only write and read
the one index, maps the worker role to it, and turns audit logging on. The requests it sends
are in the template (`Requests`, a JSON string), so a review of the template is a review of the settings.
The same resource creates the index template, the first versioned index and its aliases; on a
domain without fine-grained access control (dev) that is all it sends, as a role whose IAM
policy allows only those requests.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

import search_index
from stacks.shared.cdk_values import retention_days

HANDLER_DIR = Path(__file__).resolve().parent / "search_security_handler"
HANDLER_TIMEOUT = Duration.minutes(2)
SECURITY_API = "/_plugins/_security/api"


def index_writer_role_name(index_name: str) -> str:
    return f"{index_name}-writer"


def security_requests(*, index_name: str, worker_role_arn: str, index_shards: int = 1,
                      index_replicas: int = 0, security_plugin: bool = True,
                      user_dictionary_package_id: str | None = None) -> list[dict]:
    """The requests the custom resource sends, in order (each one idempotent): the worker's
    role and mapping, audit logging, then the index template and the first versioned index with
    its aliases (search_index.bootstrap_requests; skipped once the read alias exists). Without
    the security plugin (a domain without fine-grained access control: dev) only the latter."""
    bootstrap = search_index.bootstrap_requests(
        index_name, shards=index_shards, replicas=index_replicas,
        user_dictionary_package_id=user_dictionary_package_id)
    if not security_plugin:
        return bootstrap
    role = index_writer_role_name(index_name)
    write_alias = search_index.write_alias(index_name)
    return [
        {"method": "PUT", "path": f"{SECURITY_API}/roles/{role}", "body": {
            "description": f"Ingest workers: write and read through {write_alias} only",
            # _bulk and _mget are checked once at cluster level, then per index below.
            "cluster_permissions": ["indices:data/write/bulk", "indices:data/read/mget"],
            "index_permissions": [{
                # The alias, and the versioned indices it resolves to (the security plugin
                # checks the concrete indices too). No indices:admin/create: the deploy
                # creates indices, the worker never does.
                "index_patterns": [write_alias, f"{index_name}-v*"],
                "allowed_actions": [
                    "indices:admin/aliases/get",  # the start-up check of the write alias
                    "indices:data/write/*",
                    "indices:data/read/*",  # _mget: what is already indexed
                ],
            }],
        }},
        {"method": "PUT", "path": f"{SECURITY_API}/rolesmapping/{role}", "body": {
            "description": "The ingest worker instances' IAM role",
            "backend_roles": [worker_role_arn],
        }},
        # Publishing audit logs to CloudWatch (set on the domain) records nothing until the
        # security plugin's audit logging is enabled.
        {"method": "PATCH", "path": f"{SECURITY_API}/audit", "body": [
            {"op": "add", "path": "/config/enabled", "value": True},
        ]},
        *bootstrap,
    ]


class SearchSecuritySettings(Construct):
    """Applies `security_requests` at deploy time, as the domain's master role (without
    fine-grained access control: as a role allowed only the index bootstrap, through IAM)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, endpoint_url: str, admin_role: iam.IRole,
        worker_role: iam.IRole, index_name: str, vpc: ec2.IVpc, subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup, log_retention_days: int, log_key: kms.IKey | None,
        index_shards: int = 1, index_replicas: int = 0, security_plugin: bool = True,
        user_dictionary_package_id: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        def log_group(name: str) -> logs.LogGroup:
            return logs.LogGroup(self, name, retention=retention_days(log_retention_days),
                                 encryption_key=log_key, removal_policy=RemovalPolicy.DESTROY)

        self.handler = lambda_.Function(
            self, "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            # It answers CloudFormation itself (respond.py): no provider framework, which would
            # be a second function outside the VPC only to relay the answer.
            handler="respond.handler",
            code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__"]),
            # The master role, not modified here: its permissions are reviewed with the domain.
            role=iam.Role.from_role_arn(self, "MasterRole", admin_role.role_arn, mutable=False),
            vpc=vpc, vpc_subnets=subnets, security_groups=[security_group],
            timeout=HANDLER_TIMEOUT,
            log_group=log_group("HandlerLogs"),
            description=("Deploy-time: OpenSearch index-writer role, its mapping, audit logging, "
                         "index template, first index and aliases" if security_plugin else
                         "Deploy-time: OpenSearch index template, first index and aliases"),
        )
        # A new id, not "Resource": CloudFormation refuses to change a custom resource's
        # ServiceToken (it was the provider framework's), so this is a new resource; the old
        # one's Delete changes nothing in the domain.
        self.resource = CustomResource(
            self, "Settings", service_token=self.handler.function_arn,
            resource_type="Custom::OpenSearchSecurity",
            # If no answer comes at all (say the S3 endpoint refused it), the deployment fails
            # after this instead of CloudFormation's default hour.
            service_timeout=HANDLER_TIMEOUT.plus(Duration.minutes(3)),
            properties={
                "Endpoint": endpoint_url,
                # One JSON string: CloudFormation would turn every scalar (true) into a string.
                "Requests": Stack.of(self).to_json_string(security_requests(
                    index_name=index_name, worker_role_arn=worker_role.role_arn,
                    index_shards=index_shards, index_replicas=index_replicas,
                    security_plugin=security_plugin,
                    user_dictionary_package_id=user_dictionary_package_id)),
            },
        )
