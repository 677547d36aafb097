"""One environment of the pipeline: a CDK Stage composed the same way for dev, staging, prod."""

from __future__ import annotations

from aws_cdk import App, Environment, Stage, Tags

from checks.control_tower import acknowledge_control_tower_exceptions
from checks.synthesis import add_synthesis_checks
from config import EnvironmentConfig
from stacks.alerts.stack import AlertsStack
from stacks.fleet.stack import FleetStack
from stacks.monitoring.stack import MonitoringStack
from stacks.network.stack import NetworkStack
from stacks.search.stack import SearchStack
from stacks.shared.vpc_parameters import consumer_subnet_ids, consumer_vpc_id
from stacks.stateful.stack import StatefulStack


class IngestionStage(Stage):
    """Stacks of one environment; their paths are `<env>/<Stack>`, e.g. `prod/Stateful`.

    Stateful (bucket, queues) and Search (domain) hold data and are termination-protected in
    prod; Network and Fleet hold none and can be replaced freely.
    """

    def __init__(self, scope: App, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            config.name,
            env=Environment(account=config.account, region=config.region),
        )
        Tags.of(self).add("project", "file-search-ingestion")
        Tags.of(self).add("environment", config.name)

        def named(part: str, what: str) -> dict[str, str]:
            return {"stack_name": f"{config.name_prefix}-{part}",
                    "description": f"File-search ingestion ({config.name}): {what}"}

        # Stacks hand each other AWS resources; plain values each stack reads from `config`.
        self.alerts = AlertsStack(self, "Alerts", config=config, **named("alerts", "alarm topics"))
        self.stateful = StatefulStack(
            self, "Stateful", config=config, **named("stateful", "raw bucket, ingest queue, DLQ")
        )
        queues, topics = self.stateful.queues, self.alerts.topics
        self.network = NetworkStack(
            self, "Network", config=config,
            **named("network", "VPC without NAT, VPC endpoints, security groups"),
        )
        network = self.network.worker_network
        # CDK's handlers of the Stateful stack run in Network's subnets, named as strings (SSM
        # dynamic references, not references CDK sees): Stateful deploys after Network, and
        # Network names nothing of Stateful (its S3 endpoint policy is an account perimeter).
        self.stateful.put_handlers_in_vpc(
            vpc_id=consumer_vpc_id(config.name_prefix, network.vpc.vpc_id),
            subnet_ids=consumer_subnet_ids(
                config.name_prefix, [s.subnet_id for s in network.vpc.isolated_subnets]))
        self.stateful.add_stack_dependency(
            self.network, "SSM parameters the VpcConfig of its CDK handlers resolves")
        self.search = SearchStack(
            self, "Search", config=config, vpc=network.vpc, subnets=network.subnets,
            security_group=network.search_security_group,
            **named("search", "OpenSearch domain"),
        )
        self.fleet = FleetStack(
            self, "Fleet", config=config, vpc=network.vpc, subnets=network.subnets,
            security_group=network.worker_security_group,
            main_queue=queues.main_queue, dead_letter_queue=queues.dead_letter_queue,
            access_policies=[self.stateful.worker_access.policy, self.search.writer_access.policy],
            search_endpoint_url=self.search.domain.endpoint_url,
            notification_topic=topics.warning,
            search_admin_role=self.search.domain.deploy_role,
            search_settings_security_group=network.search_settings_security_group,
            **named("fleet", "worker Auto Scaling group"),
        )
        # Explicit, not only through references: the security-settings function's VpcConfig
        # names Network's SSM parameters, which CDK does not see as a reference.
        self.fleet.add_stack_dependency(self.network, "SSM parameters the Fleet's VpcConfig resolves")
        self.monitoring = MonitoringStack(
            self, "Monitoring", config=config,
            main_queue=queues.main_queue, dead_letter_queue=queues.dead_letter_queue,
            raw_bucket=self.stateful.raw_files.bucket,
            access_log_bucket=self.stateful.raw_files.access_log_bucket,
            search_domain=self.search.domain.domain,
            worker_log_group=self.fleet.workers.log_group, group_name=self.fleet.workers.group_name,
            critical_topic=topics.critical, warning_topic=topics.warning,
            **named("monitoring", "worker log metrics, alarms, change rules, dashboard"),
        )
        acknowledge_control_tower_exceptions(self, config)

def compose_app(app: App, configs: list[EnvironmentConfig]) -> dict[str, IngestionStage]:
    """Add one stage per environment and the synthesis checks; the single way to build the app."""
    stages = {config.name: IngestionStage(app, config=config) for config in configs}
    add_synthesis_checks(app)
    return stages
