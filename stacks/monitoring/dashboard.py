"""One dashboard per environment: the queue, the DLQ, the workers and the fleet on one page."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.monitoring.aws_metrics import group_metric, queue_metric
from stacks.monitoring.worker_log_metrics import (
    CONSUMPTION_PAUSED,
    DELETE_FAILURES,
    DELETES_ABANDONED,
    DLQ_SENDS,
    FAILED,
    PROCESSED,
    WORKER_STARTS,
    WorkerLogMetrics,
)

PERIOD = Duration.minutes(1)
WIDTH = 8  # three graphs per row (the grid is 24 wide)


class PipelineDashboard(Construct):
    """Graphs in the order an operator reads them during an incident, alarms on top."""

    def __init__(
        self, scope: Construct, construct_id: str, *,
        dashboard_name: str,
        main_queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        group_name: str,
        log_metrics: WorkerLogMetrics,
        alarms: list[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, construct_id)

        def q(name: str, stat: str, label: str, queue: sqs.IQueue = main_queue) -> cloudwatch.Metric:
            return queue_metric(queue, name, stat, PERIOD, label)

        def graph(title: str, left: list[cloudwatch.IMetric], **kwargs) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=left, width=WIDTH, height=6, **kwargs)

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=dashboard_name,
            default_interval=Duration.hours(3),
        )
        self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(
            title="Alarms", alarms=alarms, width=24, height=3))
        self.dashboard.add_widgets(
            graph("Main queue: depth and in flight", [
                q("ApproximateNumberOfMessagesVisible", "Maximum", "visible"),
                q("ApproximateNumberOfMessagesNotVisible", "Maximum", "in flight"),
            ]),
            graph("Main queue: age of oldest message (s)", [
                q("ApproximateAgeOfOldestMessage", "Maximum", "age of oldest"),
            ]),
            graph("Dead-letter queue: depth", [
                q("ApproximateNumberOfMessagesVisible", "Maximum", "DLQ visible",
                  dead_letter_queue),
            ]),
        )
        self.dashboard.add_widgets(
            graph("Main queue: sent, received, deleted (per minute)", [
                q("NumberOfMessagesSent", "Sum", "sent"),
                q("NumberOfMessagesReceived", "Sum", "received"),
                q("NumberOfMessagesDeleted", "Sum", "deleted"),
            ]),
            graph("Workers: processed and errors (per minute)", [
                log_metrics.count(PROCESSED, PERIOD, "processed"),
                log_metrics.count(FAILED, PERIOD, "failed"),
                log_metrics.count(DLQ_SENDS, PERIOD, "sent to DLQ"),
            ]),
            graph("Workers: batch processing time (ms)", [
                log_metrics.duration("p50", PERIOD),
                log_metrics.duration("p90", PERIOD),
                log_metrics.duration("Maximum", PERIOD),
            ]),
        )
        self.dashboard.add_widgets(
            # Attempts include those a retry fixed; abandoned deletes are what the alarm counts.
            graph("Workers: delete attempts failed, deletes abandoned (per minute)", [
                log_metrics.count(DELETE_FAILURES, PERIOD, "delete attempts failed"),
                log_metrics.count(DELETES_ABANDONED, PERIOD, "deletes abandoned"),
            ]),
            # One line per paused minute (the worker repeats it every 60 s while paused).
            graph("Workers: consumption paused, process starts (per minute)", [
                log_metrics.count(CONSUMPTION_PAUSED, PERIOD, "paused"),
                log_metrics.count(WORKER_STARTS, PERIOD, "process starts"),
            ]),
            graph("Auto Scaling: instances", [
                group_metric(group_name, "GroupDesiredCapacity", "Average", PERIOD, "desired"),
                group_metric(group_name, "GroupInServiceInstances", "Average", PERIOD,
                             "in service"),
                group_metric(group_name, "GroupPendingInstances", "Average", PERIOD, "pending"),
                group_metric(group_name, "GroupTerminatingInstances", "Average", PERIOD,
                             "terminating"),
            ]),
        )
