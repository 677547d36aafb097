"""Metric filters on the worker's JSON log lines: what the workers did, as CloudWatch metrics.

The worker writes one JSON object per line with an `event` field (worker_asset/ingest_worker,
README "Logs"). The filters match that field, never free text: a phrase filter such as
"Failed to delete message" would also count a processed object whose key contains the phrase
(the processed line's `msg` carries the key). The runbook's phrase is still what an operator
searches for: every `delete_failed` line's `msg` begins with it (tests/infra/test_monitoring_stack.py
runs the worker and checks both).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from constructs import Construct

# metric name -> JSON filter pattern. One metric per pattern; each matching line counts 1.
PROCESSED = "MessagesProcessed"
FAILED = "MessagesFailed"
DELETE_FAILURES = "DeleteFailures"
DELETES_ABANDONED = "DeletesAbandoned"
DLQ_SENDS = "SentToDlq"
CONSUMPTION_PAUSED = "ConsumptionPaused"
WORKER_STARTS = "WorkerStarts"
WORKERS_ALIVE = "WorkersAlive"
WORKER_STALLED = "WorkerStalled"
DURATION = "ProcessingDuration"

COUNT_PATTERNS: dict[str, str] = {
    # One line per S3 object of a finished message (indexed, unchanged, test_event, ignored,
    # metadata_only): any finished work counts as progress.
    PROCESSED: '{ $.event = "message_processed" }',
    # Transient failures (released for retry) and poison messages the DLQ refused.
    FAILED: '{ $.event = "message_failed" }',
    # Every failed delete attempt (the worker retries each delete 3 times): for the dashboard.
    DELETE_FAILURES: '{ $.event = "delete_failed" }',
    # One line per message whose delete the worker finally gave up: it will come back after
    # the visibility timeout and be processed again. This is what the alarm counts.
    DELETES_ABANDONED: '{ $.event = "delete_abandoned" }',
    # Poison messages the worker moved to the DLQ itself (with a reason attribute).
    DLQ_SENDS: '{ $.event = "sent_to_dlq" }',
    # Logged when the worker stops receiving because the index or the bucket is unavailable,
    # and again every 60 s while it stays paused: one count per paused minute.
    CONSUMPTION_PAUSED: '{ $.event = "consumption_paused" }',
    # The first line of every worker process: started, or refused its configuration, or could
    # not import boto3. Many per minute = systemd restarting a crashing worker.
    WORKER_STARTS: '{ $.event = "worker_started" || $.event = "config_invalid" || '
                   '$.event = "startup_failed" }',
    # One line per worker per wall-clock minute while it consumes (or is paused): the sum is
    # the number of live workers, compared with the instances in service. The instance id is
    # in the line, not a dimension: a dimension per instance would be a new custom metric for
    # every instance ever launched; Logs Insights finds the missing one.
    WORKERS_ALIVE: '{ $.event = "worker_alive" }',
    # Once a minute from a worker that judged itself stuck (liveness.py says why).
    WORKER_STALLED: '{ $.event = "worker_stalled" }',
}
DURATION_PATTERN = '{ $.event = "message_processed" && $.duration_ms >= 0 }'
DURATION_VALUE = "$.duration_ms"


def metric_namespace(environment: str) -> str:
    """One namespace per environment: metric filters cannot set a constant dimension."""
    return f"FileSearch/Ingestion/{environment}"


class WorkerLogMetrics(Construct):
    """Counts of processed, failed, undeletable and dead-lettered messages, pauses and process
    starts, and batch latency."""

    def __init__(self, scope: Construct, construct_id: str, *, log_group: logs.ILogGroup,
                 namespace: str) -> None:
        super().__init__(scope, construct_id)
        self.namespace = namespace
        self.filters: dict[str, logs.MetricFilter] = {}
        for name, pattern in COUNT_PATTERNS.items():
            self.filters[name] = logs.MetricFilter(
                self, name, log_group=log_group, metric_namespace=namespace, metric_name=name,
                filter_pattern=logs.FilterPattern.literal(pattern), metric_value="1",
                # 0 for every minute with log lines but no match: graphs show "none", not a gap.
                default_value=0, unit=cloudwatch.Unit.COUNT,
            )
        # No default value: a 0 for unrelated lines would drag the percentiles down.
        self.filters[DURATION] = logs.MetricFilter(
            self, DURATION, log_group=log_group, metric_namespace=namespace, metric_name=DURATION,
            filter_pattern=logs.FilterPattern.literal(DURATION_PATTERN),
            metric_value=DURATION_VALUE, unit=cloudwatch.Unit.MILLISECONDS,
        )

    def count(self, name: str, period: Duration, label: str | None = None) -> cloudwatch.Metric:
        """Sum of matching lines per period for one of COUNT_PATTERNS' metrics."""
        if name not in COUNT_PATTERNS:
            raise KeyError(f"no count metric {name!r}: choose from {sorted(COUNT_PATTERNS)}")
        return cloudwatch.Metric(namespace=self.namespace, metric_name=name, statistic="Sum",
                                 period=period, label=label)

    def duration(self, statistic: str, period: Duration) -> cloudwatch.Metric:
        return cloudwatch.Metric(namespace=self.namespace, metric_name=DURATION,
                                 statistic=statistic, period=period, label=f"processing time {statistic}")
