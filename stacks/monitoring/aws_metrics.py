"""Metrics that AWS publishes for the queues and the Auto Scaling group, for alarms and graphs.

The worker's own metrics (from its log lines) are in `worker_log_metrics.py`.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs


def queue_metric(queue: sqs.IQueue, name: str, statistic: str, period: Duration,
                 label: str | None = None) -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace="AWS/SQS", metric_name=name,
                             dimensions_map={"QueueName": queue.queue_name},
                             statistic=statistic, period=period, label=label)


def group_metric(group_name: str, name: str, statistic: str, period: Duration,
                 label: str | None = None) -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace="AWS/AutoScaling", metric_name=name,
                             dimensions_map={"AutoScalingGroupName": group_name},
                             statistic=statistic, period=period, label=label)
