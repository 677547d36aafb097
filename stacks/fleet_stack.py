"""The worker fleet: stateless, replaced freely by rollouts."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config import EnvironmentConfig
from ops import outputs
from pipeline_constructs.worker_fleet import WorkerFleet
from stacks.ops_outputs import add_ops_outputs


class FleetStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig,
        vpc: ec2.IVpc, subnets: ec2.SubnetSelection, security_group: ec2.ISecurityGroup,
        main_queue: sqs.IQueue, dead_letter_queue: sqs.IQueue,
        access_policies: list[iam.IManagedPolicy], search_endpoint_url: str,
        notification_topic: sns.ITopic, **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
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
            index_name=config.search.index_name,
            log_retention_days=config.log_retention_days,
            # Worker logs are evidence after an incident: kept unless the environment is disposable.
            removal_policy=config.removal_policy if config.removal_policy == RemovalPolicy.DESTROY
            else RemovalPolicy.RETAIN,
        )
        add_ops_outputs(self, {
            outputs.WORKER_GROUP: self.workers.group.auto_scaling_group_name,
            outputs.WORKER_LOG_GROUP: self.workers.log_group.log_group_name,
        })
