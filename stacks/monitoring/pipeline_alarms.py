"""The alarms that would have caught the incident, each sent to its severity's topic.

Every alarm notifies on ALARM and on OK (so whoever was paged also hears that it is over), has
a stable name `file-search-<env>-<what>` (the environment's name prefix, then the short name), and
a description that says what to do first and where the runbook step is (`alarm_factory.py`).
The alarms are the rows of `alarm_table.pipeline_alarms` (thresholds from `AlarmThresholds`,
the reasons next to each row); this construct only resolves their metrics to the queues, the
Auto Scaling group and the worker's log metrics. The search domain's alarms are in
`search_alarms.py`.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config import AlarmThresholds
from stacks.monitoring import alarm_table
from stacks.monitoring.alarm_factory import AlarmFactory
from stacks.monitoring.alarm_table import DLQ, GROUP, MAIN_QUEUE, WORKER, Metric
from stacks.monitoring.aws_metrics import group_metric, queue_metric
from stacks.monitoring.worker_log_metrics import WorkerLogMetrics


class PipelineAlarms(Construct):
    """Queue, DLQ, worker-log and fleet alarms, made by `factory` (which keeps them by short name).

    `longest_job_seconds` is the queue's worker_max_processing_seconds: a message in flight that
    long is a legitimate job, not a delay. `backlog_per_instance_target` is the fleet's scaling
    target (visible messages per in-service instance), which queue-depth is measured against.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *,
        settings: AlarmThresholds,
        factory: AlarmFactory,
        longest_job_seconds: int,
        backlog_per_instance_target: int,
        main_queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        group_name: str,
        log_metrics: WorkerLogMetrics,
        critical: sns.ITopic,
        warning: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        queues = {MAIN_QUEUE: main_queue, DLQ: dead_letter_queue}

        def metric(m: Metric) -> cloudwatch.IMetric:
            period = Duration.seconds(m.period)
            if m.source in queues:
                return queue_metric(queues[m.source], m.name, m.statistic, period, m.label)
            if m.source == GROUP:
                return group_metric(group_name, m.name, m.statistic, period, m.label)
            if m.source == WORKER and m.statistic == "Sum":
                return log_metrics.count(m.name, period, m.label)
            raise ValueError(f"pipeline alarms: no {m.statistic} metric {m.name} of {m.source!r}")

        factory.add_rows(
            self, alarm_table.pipeline_alarms(
                settings, longest_job_seconds=longest_job_seconds,
                backlog_per_instance_target=backlog_per_instance_target),
            critical=critical, warning=warning, metric=metric)
