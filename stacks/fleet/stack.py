"""The worker fleet: stateless, replaced freely by rollouts."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config import EnvironmentConfig
from contract import outputs
from stacks.fleet.scale_from_zero import SHORT_NAME as SCALE_FROM_ZERO
from stacks.fleet.scale_from_zero import add_scale_from_zero
from stacks.fleet.search_security import SearchSecuritySettings
from stacks.fleet.worker_fleet import WorkerFleet
from stacks.shared.log_encryption import log_key_for
from stacks.shared.ops_outputs import add_ops_outputs
from stacks.shared.vpc_parameters import (
    SEARCH_SETTINGS_SECURITY_GROUP,
    consumer_subnet_ids,
    dynamic_reference,
)
from stacks.shared.weak_references import echo


class FleetStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig,
        vpc: ec2.IVpc, subnets: ec2.SubnetSelection, security_group: ec2.ISecurityGroup,
        main_queue: sqs.IQueue, dead_letter_queue: sqs.IQueue,
        access_policies: list[iam.IManagedPolicy], search_endpoint_url: str,
        notification_topic: sns.ITopic,
        search_admin_role: iam.IRole | None,
        search_settings_security_group: ec2.ISecurityGroup | None, **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Worker logs are evidence after an incident: kept unless the environment is disposable.
        log_removal = (RemovalPolicy.DESTROY if config.removal_policy == "destroy"
                       else RemovalPolicy.RETAIN)
        log_key = log_key_for(self, enabled=config.customer_managed_log_key,
                              removal_policy=log_removal)
        self.workers = WorkerFleet(
            self, "Workers",
            settings=config.fleet,
            queue_settings=config.queue,
            vpc=vpc,
            subnets=subnets,
            security_group=security_group,
            main_queue=main_queue,
            dead_letter_queue=dead_letter_queue,
            raw_prefix=config.bucket.raw_prefix,
            access_policies=access_policies,
            search_endpoint_url=search_endpoint_url,
            notification_topic=notification_topic,
            index_name=config.search.write_alias,
            log_retention_days=config.log_retention_days, log_key=log_key,
            removal_policy=log_removal,
        )
        if config.fleet.min_capacity == 0:
            self.start_from_zero = add_scale_from_zero(
                self.workers, group=self.workers.group, group_name=self.workers.group_name,
                queue=main_queue, alarm_name=f"{config.name_prefix}-{SCALE_FROM_ZERO}",
                environment=config.name)
        # Inside OpenSearch, map this fleet's role to the index-writer role before any
        # instance starts (with fine-grained access control an unmapped role is refused), and
        # create the index and its aliases (every environment: the worker never creates them).
        if search_admin_role is not None and search_settings_security_group is not None:
            self.search_settings = SearchSecuritySettings(
                self, "SearchSecuritySettings", endpoint_url=search_endpoint_url,
                admin_role=search_admin_role, worker_role=self.workers.role,
                index_name=config.search.index_name, vpc=vpc,
                # Named literally for Control Tower's CT.LAMBDA.PR.3 (stacks/shared/vpc_parameters.py):
                # the same subnets and group, as strings CloudFormation resolves from SSM.
                subnets=ec2.SubnetSelection(subnets=_subnets_by_id(self, consumer_subnet_ids(
                    config.name_prefix, [s.subnet_id for s in vpc.isolated_subnets]))),
                index_shards=config.search.index_shards,
                index_replicas=config.search.index_replicas,
                security_plugin=config.search.configures_security_plugin,
                user_dictionary_package_id=config.search.user_dictionary_package_id,
                security_group=ec2.SecurityGroup.from_security_group_id(
                    self, "SearchSettingsSecurityGroup",
                    dynamic_reference(config.name_prefix, SEARCH_SETTINGS_SECURITY_GROUP),
                    mutable=False),
                log_retention_days=config.log_retention_days, log_key=log_key,
            )
            self.workers.group.node.add_dependency(self.search_settings.resource)
        # The user data's endpoint goes stale when the domain is replaced (issue #18).
        echo(self, "SearchEndpointUrl", search_endpoint_url, "The search endpoint in the user data")
        add_ops_outputs(self, {
            outputs.WORKER_GROUP: self.workers.group.auto_scaling_group_name,
            outputs.WORKER_LOG_GROUP: self.workers.log_group.log_group_name,
        })


def _subnets_by_id(scope: Construct, subnet_ids: list[str]) -> list[ec2.ISubnet]:
    subnets = []
    for i, subnet_id in enumerate(subnet_ids):
        subnet = ec2.Subnet.from_subnet_id(scope, f"FunctionSubnet{i}", subnet_id)
        # Only the function's VpcConfig reads these; nothing here routes through them.
        Annotations.of(subnet).acknowledge_warning(
            "@aws-cdk/aws-ec2:noSubnetRouteTableId",
            "Imported only to name the subnet in a function's VpcConfig; its route table is Network's")
        subnets.append(subnet)
    return subnets
