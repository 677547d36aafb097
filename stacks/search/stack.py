"""The OpenSearch domain: stateful, so protected like the bucket and the queues."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from config import EnvironmentConfig
from contract import outputs
from contract.names import SEARCH, stack_name
from stacks.search.search_domain import SearchDomain
from stacks.search.writer_policy import SearchWriterPolicy
from stacks.shared.cdk_values import removal_policy
from stacks.shared.log_encryption import log_key_for
from stacks.shared.ops_outputs import add_ops_outputs


class SearchStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig,
        vpc: ec2.IVpc, subnets: ec2.SubnetSelection, security_group: ec2.ISecurityGroup,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope, construct_id, termination_protection=config.termination_protection, **kwargs
        )
        removal = removal_policy(config.removal_policy)
        self.domain = SearchDomain(
            self, "Search", settings=config.search, vpc=vpc, subnets=subnets,
            security_group=security_group,
            log_key=log_key_for(self, enabled=config.customer_managed_log_key, removal_policy=removal),
            log_retention_days=config.log_retention_days, removal_policy=removal,
            log_policy_owner_stack=(stack_name(config.search.log_policy_owner, SEARCH)
                                    if config.search.log_policy_owner else None),
        )
        # The workers' access to the index, defined beside the domain like the Stateful stack's
        # WorkerAccess. Its scope is the domain construct because that is where the policy has
        # always lived: another path would give it another logical ID.
        self.writer_access = SearchWriterPolicy(
            self.domain, "WriterAccess", domain_arn=self.domain.domain.domain_arn,
            index_name=config.search.write_alias,
        )
        add_ops_outputs(self, {
            outputs.SEARCH_DOMAIN: self.domain.domain.domain_name,
            outputs.SEARCH_ENDPOINT: self.domain.endpoint_url,
            outputs.SEARCH_INDEX: config.search.index_name,
        })
