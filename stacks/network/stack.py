"""The workers' network. Stateless: it can be replaced without losing data."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Token
from constructs import Construct

from config import EnvironmentConfig
from stacks.network.default_sg_function import PROVIDER_ID as DEFAULT_SG_PROVIDER_ID
from stacks.network.worker_network import WorkerNetwork
from stacks.shared.cdk_values import removal_policy
from stacks.shared.function_logs import declare_function_log_group
from stacks.shared.log_encryption import log_key_for
from stacks.shared.vpc_parameters import (
    SEARCH_SETTINGS_SECURITY_GROUP,
    VPC_ID,
    publish,
    subnet_values,
)

_FORMER_SETTINGS_GROUP_OUTPUT = (
    "PublishOutputFnGetAttWorkerNetworkSearchSettingsSecurityGroupF4C1C58AGroupIdAEE5208F")


class NetworkStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any,
    ) -> None:
        # Before super().__init__: CDK may read `availability_zones` while building the stack.
        self._zones = config.network.availability_zones
        super().__init__(scope, construct_id, **kwargs)
        log_key = log_key_for(self, enabled=config.customer_managed_log_key,
                              removal_policy=removal_policy(config.removal_policy))
        self.worker_network = WorkerNetwork(
            self, "WorkerNetwork", settings=config.network,
            raw_prefix=config.bucket.raw_prefix,
            auto_delete_objects=config.bucket.auto_delete_objects,
            removal_policy=removal_policy(config.removal_policy),
            log_key=log_key,
            search_settings_function=not config.search.imported,
        )
        # CDK's default-SG function (when it creates the VPC) logs into a declared log group.
        default_sg_provider = self.node.try_find_child(DEFAULT_SG_PROVIDER_ID)
        if default_sg_provider is not None:
            declare_function_log_group(default_sg_provider.node.find_child("Handler"),
                                       retention=config.log_retention_days, key=log_key)
        # The ids other stacks' deploy-time functions name literally (stacks/shared/vpc_parameters.py).
        network = self.worker_network
        published = subnet_values([s.subnet_id for s in network.vpc.isolated_subnets])
        if Token.is_unresolved(network.vpc.vpc_id):
            published[VPC_ID] = network.vpc.vpc_id
        settings_group = network.search_settings_security_group
        if settings_group is not None:
            published[SEARCH_SETTINGS_SECURITY_GROUP] = settings_group.security_group_id
            # The output the Fleet stack read this group from before it read the parameter,
            # kept so that a Fleet deployment rolling back to that template still resolves it.
            # Remove once every environment's Fleet stack has deployed the parameter.
            CfnOutput(self, _FORMER_SETTINGS_GROUP_OUTPUT, value=settings_group.security_group_id)
        publish(self, name_prefix=config.name_prefix, values=published)

    @property
    def availability_zones(self) -> list[str]:
        """The configured zones, when there are: CDK would otherwise look the region's zones up
        (credentials at synthesis, cdk.context.json) only to check the VPC's against them."""
        return list(self._zones) if self._zones else super().availability_zones
