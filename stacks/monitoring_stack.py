"""Metric filters, alarms and the dashboard: deployed last, reading every other stack.

The metric filters reference the Fleet stack's log group (a cross-stack reference: Monitoring
depends on Fleet, never the other way round, so the fleet can still be replaced freely).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config import EnvironmentConfig
from pipeline_constructs.pipeline_alarms import PipelineAlarms
from pipeline_constructs.pipeline_dashboard import PipelineDashboard
from pipeline_constructs.worker_log_metrics import WorkerLogMetrics, metric_namespace


class MonitoringStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig,
        main_queue: sqs.IQueue, dead_letter_queue: sqs.IQueue,
        worker_log_group: logs.ILogGroup, group_name: str,
        critical_topic: sns.ITopic, warning_topic: sns.ITopic, **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.log_metrics = WorkerLogMetrics(
            self, "WorkerLogMetrics", log_group=worker_log_group,
            namespace=metric_namespace(config.name),
        )
        self.alarms = PipelineAlarms(
            self, "Alarms", settings=config.alarms, name_prefix=config.name_prefix,
            main_queue=main_queue, dead_letter_queue=dead_letter_queue,
            group_name=group_name, log_metrics=self.log_metrics,
            critical=critical_topic, warning=warning_topic,
        )
        self.dashboard = PipelineDashboard(
            self, "Dashboard", dashboard_name=f"{config.name_prefix}-ingestion",
            main_queue=main_queue, dead_letter_queue=dead_letter_queue,
            group_name=group_name, log_metrics=self.log_metrics,
            alarms=list(self.alarms.alarms.values()),
        )
