"""Metric filters, alarms, out-of-band change rules and the dashboard: deployed last,
reading every other stack.

The metric filters reference the Fleet stack's log group (a cross-stack reference: Monitoring
depends on Fleet, never the other way round, so the fleet can still be replaced freely).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config import EnvironmentConfig
from contract import outputs
from stacks.monitoring.alarm_factory import AlarmFactory
from stacks.monitoring.change_watch import OutOfBandChangeWatch
from stacks.monitoring.dashboard import PipelineDashboard
from stacks.monitoring.delivery_alarms import DeliveryAlarms
from stacks.monitoring.pipeline_alarms import PipelineAlarms
from stacks.monitoring.search_alarms import SearchDomainAlarms
from stacks.monitoring.worker_log_metrics import WorkerLogMetrics, metric_namespace
from stacks.shared.ops_outputs import add_ops_outputs


class MonitoringStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig,
        main_queue: sqs.IQueue, dead_letter_queue: sqs.IQueue, raw_bucket: s3.IBucket,
        access_log_bucket: s3.IBucket, search_domain: opensearch.IDomain,
        worker_log_group: logs.ILogGroup, group_name: str,
        critical_topic: sns.ITopic, warning_topic: sns.ITopic, **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.log_metrics = WorkerLogMetrics(
            self, "WorkerLogMetrics", log_group=worker_log_group,
            namespace=metric_namespace(config.name),
        )
        factory = AlarmFactory(environment=config.name, name_prefix=config.name_prefix)
        self.alarms = PipelineAlarms(
            self, "Alarms", settings=config.alarms, factory=factory,
            longest_job_seconds=config.queue.worker_max_processing_seconds,
            backlog_per_instance_target=config.fleet.backlog_per_instance_target,
            main_queue=main_queue, dead_letter_queue=dead_letter_queue,
            group_name=group_name, log_metrics=self.log_metrics,
            critical=critical_topic, warning=warning_topic,
        )
        self.search_alarms = SearchDomainAlarms(
            self, "SearchAlarms", domain=search_domain, search=config.search,
            settings=config.alarms.search, factory=factory,
            critical=critical_topic, warning=warning_topic,
        )
        # Every alarm of the environment, by short name (the runbook's anchors).
        self.all_alarms = factory.alarms
        self.change_watch = OutOfBandChangeWatch(
            self, "OutOfBandChanges", name_prefix=config.name_prefix, environment=config.name,
            raw_bucket=raw_bucket, access_log_bucket=access_log_bucket,
            main_queue=main_queue, dead_letter_queue=dead_letter_queue,
            group_name=group_name, topic=critical_topic,
        )
        self.delivery_alarms = DeliveryAlarms(
            self, "DeliveryAlarms", factory=factory, critical=critical_topic,
            warning=warning_topic, rules=dict(self.change_watch.rules),
        )
        self.dashboard = PipelineDashboard(
            self, "Dashboard", dashboard_name=f"{config.name_prefix}-ingestion",
            main_queue=main_queue, dead_letter_queue=dead_letter_queue,
            group_name=group_name, log_metrics=self.log_metrics,
            alarms=list(factory.alarms.values()),
        )
        # PipelineAlarms names every alarm <name_prefix>-<what>.
        add_ops_outputs(self, {outputs.ALARM_PREFIX: f"{config.name_prefix}-"})
