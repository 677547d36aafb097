"""The OpenSearch domain: stateful, so protected like the bucket and the queues."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from config import EnvironmentConfig
from pipeline_constructs.search_domain import SearchDomain
from pipeline_constructs.worker_network import WorkerNetwork


class SearchStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig,
        network: WorkerNetwork, **kwargs: Any,
    ) -> None:
        super().__init__(
            scope, construct_id, termination_protection=config.termination_protection, **kwargs
        )
        self.search = SearchDomain(
            self, "Search", settings=config.search, vpc=network.vpc, subnets=network.subnets,
            security_group=network.search_security_group,
            log_retention_days=config.log_retention_days, removal_policy=config.removal_policy,
        )
