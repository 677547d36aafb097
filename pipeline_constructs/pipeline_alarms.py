"""The alarms that would have caught the incident, each sent to its severity's topic.

Every alarm notifies on ALARM and on OK (so whoever was paged also hears that it is over), has
a stable name `file-search-<env>-<what>` (the environment's name prefix, then the short name), and
a description that says what to do first and where the runbook step is (docs/alarms.md).
Thresholds come from `AlarmThresholds`.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config import AlarmThresholds
from pipeline_constructs.aws_metrics import group_metric, queue_metric
from pipeline_constructs.worker_log_metrics import (
    DELETE_FAILURES,
    DLQ_SENDS,
    FAILED,
    PROCESSED,
    WorkerLogMetrics,
)

RUNBOOK = "docs/alarms.md#runbook-"
ONE_MINUTE = Duration.minutes(1)
Compare = cloudwatch.ComparisonOperator
Missing = cloudwatch.TreatMissingData


class PipelineAlarms(Construct):
    """Queue, DLQ, worker-log and fleet alarms. `alarms` maps the short name to the alarm."""

    def __init__(
        self, scope: Construct, construct_id: str, *,
        settings: AlarmThresholds,
        name_prefix: str,
        main_queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        group_name: str,
        log_metrics: WorkerLogMetrics,
        critical: sns.ITopic,
        warning: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._name_prefix = name_prefix
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        s = settings

        # Queue metrics: an SQS queue stops reporting after about six hours without messages or
        # API calls. A queue holding messages always reports, so a gap means "empty and idle":
        # NOT_BREACHING for every queue alarm.
        dlq_visible = queue_metric(dead_letter_queue, "ApproximateNumberOfMessagesVisible",
                                   "Maximum", ONE_MINUTE, "DLQ visible")
        self._alarm(
            "dlq-not-empty", warning, dlq_visible,
            threshold=s.dlq_warning_messages, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1, missing=Missing.NOT_BREACHING,
            what=f"The dead-letter queue holds {s.dlq_warning_messages} or more messages: "
                 "messages failed maxReceiveCount times or were poison.",
            first="Read the worker's sent_to_dlq lines for the reason; fix the cause, then redrive.",
        )
        self._alarm(
            "dlq-filling", critical, dlq_visible,
            threshold=s.dlq_critical_messages, comparison=Compare.GREATER_THAN_THRESHOLD,
            evaluation_periods=1, missing=Missing.NOT_BREACHING,
            what=f"More than {s.dlq_critical_messages} messages in the dead-letter queue: "
                 "processing is failing at scale (the incident's end state).",
            first="Check delete failures and worker errors first; stop DataSync if the DLQ "
                  "keeps growing; do not purge before the cause is known.",
        )
        self._alarm(
            "oldest-message-age", critical,
            queue_metric(main_queue, "ApproximateAgeOfOldestMessage", "Maximum", ONE_MINUTE,
                         "age of oldest message"),
            threshold=s.oldest_message_critical_seconds, comparison=Compare.GREATER_THAN_THRESHOLD,
            evaluation_periods=1, missing=Missing.NOT_BREACHING,
            what=f"A message has waited more than {s.oldest_message_critical_seconds} s: "
                 "processing is delayed.",
            first="Check in-service instances and worker errors; scale out if the fleet is "
                  "healthy but behind.",
        )
        self._alarm(
            "queue-depth", warning,
            queue_metric(main_queue, "ApproximateNumberOfMessagesVisible", "Maximum", ONE_MINUTE,
                         "visible"),
            threshold=s.queue_depth_warning_messages, comparison=Compare.GREATER_THAN_THRESHOLD,
            evaluation_periods=s.queue_depth_warning_minutes, missing=Missing.NOT_BREACHING,
            what=f"More than {s.queue_depth_warning_messages} messages waiting for "
                 f"{s.queue_depth_warning_minutes} min.",
            first="Check that the fleet scaled out and is processing; look for duplicate "
                  "notification paths if depth grows without uploads.",
        )

        # Received but not deleted, over a window long enough to hold a whole job (worker max
        # processing time <= visibility timeout): a message received once and deleted later in
        # the window contributes 0. Each extra receive of the same message (visibility timeout
        # expired, transient retry, a delete that failed) adds 1 to received and nothing to
        # deleted, which is exactly the incident. Poison messages are sent to the DLQ by the
        # worker and then deleted, so they do not count here; SQS redrives count (never deleted).
        # A window can go negative (deletes of messages received in the previous one): harmless.
        window = Duration.minutes(s.undeleted_window_minutes)
        received = queue_metric(main_queue, "NumberOfMessagesReceived", "Sum", window, "received")
        deleted = queue_metric(main_queue, "NumberOfMessagesDeleted", "Sum", window, "deleted")
        self._alarm(
            "received-not-deleted", warning,
            cloudwatch.MathExpression(
                expression=f"IF(received >= {s.undeleted_min_received}, "
                           f"(received - FILL(deleted, 0)) / received, 0)",
                using_metrics={"received": received, "deleted": deleted},
                period=window, label="share of received messages not deleted",
            ),
            threshold=s.undeleted_ratio_warning, comparison=Compare.GREATER_THAN_THRESHOLD,
            # No receives at all = no data = nothing to judge.
            evaluation_periods=1, missing=Missing.NOT_BREACHING,
            what=f"More than {s.undeleted_ratio_warning:.0%} of the messages received in "
                 f"{s.undeleted_window_minutes} min were not deleted: workers process but do "
                 "not delete, and messages come back (the incident's signature).",
            first="Search the worker log for 'Failed to delete message' and message_failed; "
                  "check the visibility timeout and the worker's SQS permissions.",
        )

        # Error rate from the worker's own log lines; a poison message sent to the DLQ counts
        # as an error (its line is sent_to_dlq, not message_failed).
        err_period = Duration.minutes(s.worker_error_rate_window_minutes)
        self._alarm(
            "worker-error-rate", warning,
            cloudwatch.MathExpression(
                expression="IF(attempts > 0, 100 * errors / attempts, 0)",
                using_metrics={
                    "errors": cloudwatch.MathExpression(
                        expression="FILL(failed, 0) + FILL(dlq, 0)",
                        using_metrics={"failed": log_metrics.count(FAILED, err_period),
                                       "dlq": log_metrics.count(DLQ_SENDS, err_period)},
                        period=err_period),
                    "attempts": cloudwatch.MathExpression(
                        expression="FILL(processed, 0) + FILL(failed, 0) + FILL(dlq, 0)",
                        using_metrics={"processed": log_metrics.count(PROCESSED, err_period),
                                       "failed": log_metrics.count(FAILED, err_period),
                                       "dlq": log_metrics.count(DLQ_SENDS, err_period)},
                        period=err_period),
                },
                period=err_period, label="worker error rate (%)",
            ),
            threshold=s.worker_error_rate_warning_percent, comparison=Compare.GREATER_THAN_THRESHOLD,
            # No log lines = no work = no error rate; a silent fleet has its own alarm.
            evaluation_periods=1, missing=Missing.NOT_BREACHING,
            what=f"More than {s.worker_error_rate_warning_percent:g} % of messages failed or "
                 f"went to the DLQ in {s.worker_error_rate_window_minutes} min.",
            first="Group the worker's message_failed lines by error; 429/503 means OpenSearch "
                  "is overloaded, other codes point at S3, SQS or the documents.",
        )
        self._alarm(
            "delete-failures", warning,
            log_metrics.count(DELETE_FAILURES, ONE_MINUTE, "delete failures"),
            threshold=s.delete_failures_warning, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # Missing = no line matched and none was logged: no failure.
            evaluation_periods=1, missing=Missing.NOT_BREACHING,
            what="The worker logged 'Failed to delete message': finished messages stay in the "
                 "queue and come back after the visibility timeout (the incident's cause).",
            first="Read the line's code field (AccessDenied, ReceiptHandleIsInvalid, throttling) "
                  "and fix permissions or the visibility timeout before the DLQ fills.",
        )

        # Desired minus in service, per minute; the group publishes both every minute while it
        # exists, 0 and 0 when dev scales to zero (no alarm). A gap means the metrics stopped,
        # not that instances are missing: NOT_BREACHING, the queue alarms still watch the work.
        self._alarm(
            "in-service-below-desired", warning,
            cloudwatch.MathExpression(
                expression="desired - in_service",
                using_metrics={
                    "desired": group_metric(group_name, "GroupDesiredCapacity", "Average",
                                            ONE_MINUTE),
                    "in_service": group_metric(group_name, "GroupInServiceInstances", "Average",
                                               ONE_MINUTE),
                },
                period=ONE_MINUTE, label="instances missing",
            ),
            threshold=0, comparison=Compare.GREATER_THAN_THRESHOLD,
            evaluation_periods=s.in_service_below_desired_minutes, missing=Missing.NOT_BREACHING,
            what=f"Fewer instances in service than desired for "
                 f"{s.in_service_below_desired_minutes} min: launches fail or instances do not "
                 "start the worker.",
            first="Read the group's activity history (the warning topic gets launch errors) "
                  "and the boot log of a failed instance.",
        )

        # Silent worker: a backlog all minute long and not one processed line, minute after
        # minute. FILL: the processed metric has no data point when no line was logged at all,
        # which is the very case to catch. No queue data (idle empty queue) = nothing to do.
        self._alarm(
            "silent-worker", critical,
            cloudwatch.MathExpression(
                expression="IF(visible > 0 AND FILL(processed, 0) == 0, 1, 0)",
                using_metrics={
                    "visible": queue_metric(main_queue, "ApproximateNumberOfMessagesVisible",
                                            "Minimum", ONE_MINUTE),
                    "processed": log_metrics.count(PROCESSED, ONE_MINUTE),
                },
                period=ONE_MINUTE, label="backlog but nothing processed",
            ),
            threshold=1, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=s.silent_worker_minutes, missing=Missing.NOT_BREACHING,
            what=f"Messages waiting and no message processed for {s.silent_worker_minutes} min: "
                 "the workers are down, stuck or cannot reach SQS.",
            first="Check in-service instances, then the worker log (worker_stopped, "
                  "receive_failed); restart the fleet with an instance refresh if needed.",
        )

    def _alarm(self, short: str, topic: sns.ITopic, metric: cloudwatch.IMetric, *,
               threshold: float, comparison: cloudwatch.ComparisonOperator,
               evaluation_periods: int, missing: cloudwatch.TreatMissingData,
               what: str, first: str) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self, short,
            alarm_name=f"{self._name_prefix}-{short}",
            alarm_description=f"{what} First: {first} Runbook: {RUNBOOK}{short}",
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(actions.SnsAction(topic))
        alarm.add_ok_action(actions.SnsAction(topic))
        self.alarms[short] = alarm
        return alarm
