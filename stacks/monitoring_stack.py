"""Metric filters, alarms and the dashboard: deployed last, reading every other stack.

The metric filters reference the Fleet stack's log group (a cross-stack reference: Monitoring
depends on Fleet, never the other way round, so the fleet can still be replaced freely).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from config import EnvironmentConfig
from pipeline_constructs.ingest_queues import IngestQueues
from pipeline_constructs.notification_topics import NotificationTopics
from pipeline_constructs.pipeline_alarms import PipelineAlarms
from pipeline_constructs.pipeline_dashboard import PipelineDashboard
from pipeline_constructs.worker_fleet import WorkerFleet
from pipeline_constructs.worker_log_metrics import WorkerLogMetrics, metric_namespace


class MonitoringStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig,
        queues: IngestQueues, fleet: WorkerFleet, topics: NotificationTopics, **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.log_metrics = WorkerLogMetrics(
            self, "WorkerLogMetrics", log_group=fleet.log_group,
            namespace=metric_namespace(config.name),
        )
        self.alarms = PipelineAlarms(
            self, "Alarms", settings=config.alarms, environment=config.name,
            main_queue=queues.main_queue, dead_letter_queue=queues.dead_letter_queue,
            group_name=fleet.group_name, log_metrics=self.log_metrics,
            critical=topics.critical, warning=topics.warning,
        )
        self.dashboard = PipelineDashboard(
            self, "Dashboard", dashboard_name=f"file-search-{config.name}-ingestion",
            main_queue=queues.main_queue, dead_letter_queue=queues.dead_letter_queue,
            group_name=fleet.group_name, log_metrics=self.log_metrics,
            alarms=list(self.alarms.alarms.values()),
        )
