"""The worker fleet: stateless, replaced freely by rollouts."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from constructs import Construct

from config import EnvironmentConfig
from pipeline_constructs.access_policies import IngestConsumerPolicy
from pipeline_constructs.ingest_queues import IngestQueues
from pipeline_constructs.notification_topics import NotificationTopics
from pipeline_constructs.raw_bucket import RawFilesBucket
from pipeline_constructs.search_domain import SearchDomain
from pipeline_constructs.worker_fleet import WorkerFleet
from pipeline_constructs.worker_network import WorkerNetwork


class FleetStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig,
        network: WorkerNetwork, queues: IngestQueues, raw_files: RawFilesBucket,
        ingest_access: IngestConsumerPolicy, search: SearchDomain, topics: NotificationTopics,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.fleet = WorkerFleet(
            self, "Workers",
            settings=config.fleet,
            queue_settings=config.queue,
            vpc=network.vpc,
            subnets=network.subnets,
            security_group=network.worker_security_group,
            main_queue=queues.main_queue,
            dead_letter_queue=queues.dead_letter_queue,
            raw_prefix=raw_files.raw_prefix,
            access_policies=[ingest_access.policy, search.writer_policy.policy],
            search_endpoint_url=search.endpoint_url,
            notification_topic=topics.warning,
            index_name=search.index_name,
            log_retention_days=config.log_retention_days,
            # Worker logs are evidence after an incident: kept unless the environment is disposable.
            removal_policy=config.removal_policy if config.removal_policy == RemovalPolicy.DESTROY
            else RemovalPolicy.RETAIN,
        )
