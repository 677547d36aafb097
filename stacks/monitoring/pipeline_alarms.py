"""The alarms that would have caught the incident, each sent to its severity's topic.

Every alarm notifies on ALARM and on OK (so whoever was paged also hears that it is over), has
a stable name `file-search-<env>-<what>` (the environment's name prefix, then the short name), and
a description that says what to do first and where the runbook step is (`alarm_factory.py`).
Thresholds come from `AlarmThresholds`. The search domain's alarms are in `search_alarms.py`.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config import AlarmThresholds
from stacks.monitoring.alarm_factory import AlarmFactory
from stacks.monitoring.aws_metrics import group_metric, queue_metric
from stacks.monitoring.worker_log_metrics import (
    CONSUMPTION_PAUSED,
    DELETES_ABANDONED,
    DLQ_SENDS,
    FAILED,
    PROCESSED,
    WORKER_STARTS,
    WorkerLogMetrics,
)

ONE_MINUTE = Duration.minutes(1)
Compare = cloudwatch.ComparisonOperator
Missing = cloudwatch.TreatMissingData


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
        self._factory = factory
        s = settings

        # Queue metrics: an SQS queue stops reporting after about six hours without messages or
        # API calls. A queue holding messages always reports, so a gap means "empty and idle":
        # NOT_BREACHING for every queue alarm except no-incoming-messages (below), for which
        # "idle" is the failure.
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
        # The DLQ pages on change, not level: a level alarm stays in ALARM all day on an
        # ordinary poison rate and then cannot page for a real surge. Inflow = the rise of the
        # visible count from one window to the next (DIFF of the window's Maximum; FILL 0: an
        # idle DLQ that stopped reporting is empty). It counts what SQS's redrive moves, which
        # the DLQ's NumberOfMessagesSent does not (the incident's kind), and the worker's poison
        # sends. Pages above the expected poison share of what was sent to the main queue in
        # the same window, and at least dlq_inflow_min_messages; a redrive or purge is negative.
        inflow_window = Duration.minutes(s.dlq_inflow_window_minutes)
        share = s.dlq_expected_poison_percent / 100
        self._alarm(
            "dlq-filling", critical,
            cloudwatch.MathExpression(
                expression=f"IF(DIFF(FILL(dlq, 0)) >= {s.dlq_inflow_min_messages} AND "
                           f"DIFF(FILL(dlq, 0)) > {share:g} * FILL(sent, 0), 1, 0)",
                using_metrics={
                    "dlq": queue_metric(dead_letter_queue, "ApproximateNumberOfMessagesVisible",
                                        "Maximum", inflow_window),
                    "sent": queue_metric(main_queue, "NumberOfMessagesSent", "Sum", inflow_window),
                },
                period=inflow_window, label="DLQ inflow beyond the expected poison rate",
            ),
            threshold=1, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1, missing=Missing.NOT_BREACHING,
            what=f"At least {s.dlq_inflow_min_messages} messages reached the dead-letter queue in "
                 f"{s.dlq_inflow_window_minutes} min, more than "
                 f"{s.dlq_expected_poison_percent:g} % of those sent to the main queue: "
                 "processing is failing at scale (the incident's end state).",
            first="Check delete failures and worker errors first; stop DataSync if the DLQ "
                  "keeps growing; do not purge before the cause is known.",
        )
        # ApproximateAgeOfOldestMessage counts messages in flight too, so a legitimate job of
        # longest_job_seconds is that old when it finishes: the threshold starts counting the
        # delay there (the replay in tests/infra/test_alarm_replay.py runs a 600 s job on a
        # normal day and checks that nobody is paged).
        oldest_threshold = longest_job_seconds + s.oldest_message_delay_critical_seconds
        self._alarm(
            "oldest-message-age", critical,
            queue_metric(main_queue, "ApproximateAgeOfOldestMessage", "Maximum", ONE_MINUTE,
                         "age of oldest message"),
            threshold=oldest_threshold, comparison=Compare.GREATER_THAN_THRESHOLD,
            evaluation_periods=1, missing=Missing.NOT_BREACHING,
            what=f"A message has been in the queue more than {oldest_threshold} s (the longest "
                 f"job, {longest_job_seconds} s, plus {s.oldest_message_delay_critical_seconds} s): "
                 "processing is delayed.",
            first="Check in-service instances and worker errors; scale out if the fleet is "
                  "healthy but behind.",
        )
        # The DLQ's age counts from when a message was moved there, but its retention from the
        # original send to the main queue (up to queue.retention_days earlier): the thresholds
        # are validated against both (config/environment.py). Five-minute periods: the age
        # moves in days. No data = an idle, empty DLQ.
        dlq_age = queue_metric(dead_letter_queue, "ApproximateAgeOfOldestMessage", "Maximum",
                               Duration.minutes(5), "DLQ age of oldest message")
        for short, topic, hours, when in (
                ("dlq-aging", warning, s.dlq_age_warning_hours, "needs handling"),
                ("dlq-expiring", critical, s.dlq_age_critical_hours,
                 "may be deleted by the DLQ's retention (counted from its original send) "
                 "within days")):
            self._alarm(
                short, topic, dlq_age,
                threshold=hours * 3600, comparison=Compare.GREATER_THAN_THRESHOLD,
                evaluation_periods=1, missing=Missing.NOT_BREACHING,
                what=f"A dead-letter message is more than {hours} h old and {when}.",
                first="Find the cause in its reason attribute, fix it, then redrive the DLQ "
                      "before the retention deletes the messages.",
            )
        # Queue depth measured against the fleet's own scaling target: target tracking keeps
        # about `backlog_per_instance_target` visible messages per in-service instance, so a
        # healthy fleet under sustained load sits near it (a fixed total warned all day). The
        # fleet is behind when the backlog per instance is a multiple of the target AND the
        # oldest message keeps aging. FILL(in_service, 0): no group data = no instance counted.
        per_instance = s.queue_depth_per_instance_multiple * backlog_per_instance_target
        self._alarm(
            "queue-depth", warning,
            cloudwatch.MathExpression(
                expression=f"IF(visible > {per_instance:g} * FILL(in_service, 0) "
                           f"AND age > {s.queue_depth_age_seconds}, 1, 0)",
                using_metrics={
                    "visible": queue_metric(main_queue, "ApproximateNumberOfMessagesVisible",
                                            "Maximum", ONE_MINUTE),
                    "age": queue_metric(main_queue, "ApproximateAgeOfOldestMessage", "Maximum",
                                        ONE_MINUTE),
                    "in_service": group_metric(group_name, "GroupInServiceInstances", "Average",
                                               ONE_MINUTE),
                },
                period=ONE_MINUTE, label="backlog beyond what the fleet absorbs",
            ),
            threshold=1, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=s.queue_depth_warning_minutes, missing=Missing.NOT_BREACHING,
            what=f"More than {per_instance:g} messages waiting per in-service instance "
                 f"({s.queue_depth_per_instance_multiple:g} x the scaling target) and the oldest "
                 f"older than {s.queue_depth_age_seconds} s, for {s.queue_depth_warning_minutes} "
                 "min: the fleet is not catching up.",
            first="Check that the fleet scaled out (at max_capacity?) and is processing; look "
                  "for duplicate notification paths if depth grows without uploads.",
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
                # The floor: one poison file at night is 1 of 1 = 100 %, not a trend.
                expression=f"IF(attempts >= {s.worker_error_rate_min_attempts}, "
                           "100 * errors / attempts, 0)",
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
                 f"went to the DLQ in {s.worker_error_rate_window_minutes} min (at least "
                 f"{s.worker_error_rate_min_attempts} outcomes).",
            first="Group the worker's message_failed lines by error; 429/503 means OpenSearch "
                  "is overloaded, other codes point at S3, SQS or the documents.",
        )
        # Messages whose delete the worker finally gave up (after its retries): each one comes
        # back after the visibility timeout. Failed attempts that a retry fixed are counted on
        # the dashboard only. Missing = no line matched and none was logged: no failure.
        self._alarm(
            "delete-failures", warning,
            log_metrics.count(DELETES_ABANDONED, ONE_MINUTE, "deletes abandoned"),
            threshold=s.delete_abandoned_warning,
            comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1, missing=Missing.NOT_BREACHING,
            what="The worker gave up deleting a message after its retries ('Failed to delete "
                 "message', event delete_abandoned): it comes back after the visibility timeout "
                 "and is processed again (the incident's cause).",
            first="Read the line's code field (AccessDenied, ReceiptHandleIsInvalid, throttling) "
                  "and fix permissions or the visibility timeout before the DLQ fills.",
        )
        # The incident's cause, fast: the worker logged finished objects and the queue recorded
        # no deletes for them. A finished message is deleted in the same round (seconds), so
        # unlike received-not-deleted no job has to fit in the window, and a long job adds one
        # processed line and one delete in the same minute. One-minute data points and no FILL
        # on deleted: SQS's metrics arrive 1-3 minutes after the log metrics, and a minute whose
        # deletes have not arrived yet must be missing (skipped), not 0 (a breach on every busy
        # minute). SQS publishes 0 deletes while workers poll, so "no delete at all" still has
        # data. M of N complete minutes. No processed line = nothing to judge (silent-worker).
        self._alarm(
            "processed-not-deleted", critical,
            cloudwatch.MathExpression(
                expression=f"IF(processed >= {s.processed_not_deleted_min_processed}, "
                           "(processed - deleted) / processed, 0)",
                using_metrics={
                    "processed": log_metrics.count(PROCESSED, ONE_MINUTE),
                    "deleted": queue_metric(main_queue, "NumberOfMessagesDeleted", "Sum",
                                            ONE_MINUTE),
                },
                period=ONE_MINUTE, label="share of processed objects not deleted",
            ),
            threshold=s.processed_not_deleted_ratio, comparison=Compare.GREATER_THAN_THRESHOLD,
            datapoints_to_alarm=s.processed_not_deleted_datapoints,
            evaluation_periods=s.processed_not_deleted_minutes, missing=Missing.NOT_BREACHING,
            what=f"More than {s.processed_not_deleted_ratio:.0%} of the objects the workers "
                 f"finished were not deleted from the queue in {s.processed_not_deleted_datapoints}"
                 f" of {s.processed_not_deleted_minutes} minutes: every one comes back and is "
                 "processed again (the incident).",
            first="Search the worker log for delete_failed; check the workers' sqs:DeleteMessage "
                  "permission; pause DataSync until deletes succeed.",
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

        # A lost fleet, day or night: fewer instances in service than the group's own minimum
        # (every instance unhealthy or terminated, launches failing). Needs no backlog, unlike
        # silent-worker, and compares with GroupMinSize rather than the configuration so that
        # `ops pause` (min and desired to 0) does not page. FILL(in_service, 0): the group
        # publishes both while it exists; no in-service data with a minimum is no instance.
        self._alarm(
            "fleet-below-minimum", critical,
            cloudwatch.MathExpression(
                expression="IF(FILL(in_service, 0) < min_size, 1, 0)",
                using_metrics={
                    "in_service": group_metric(group_name, "GroupInServiceInstances", "Minimum",
                                               ONE_MINUTE),
                    "min_size": group_metric(group_name, "GroupMinSize", "Maximum", ONE_MINUTE),
                },
                period=ONE_MINUTE, label="in service below the group's minimum",
            ),
            threshold=1, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=s.fleet_below_minimum_minutes, missing=Missing.NOT_BREACHING,
            what=f"Fewer instances in service than the group's minimum size for "
                 f"{s.fleet_below_minimum_minutes} min: the fleet is lost (instances unhealthy "
                 "or terminated, launches failing); nothing consumes the queue.",
            first="Read the group's activity history and the boot log of a failed instance; "
                  "check the launch template, capacity and the instances' health.",
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

        # A crash loop: systemd restarts a crashing worker every 5 s and each start logs one
        # line, while the instances stay healthy for Auto Scaling. Every instance starting once
        # (a rollout, a scale-out) stays below the threshold (checked against fleet.max_capacity).
        starts_window = Duration.minutes(5)
        self._alarm(
            "worker-crash-loop", critical,
            log_metrics.count(WORKER_STARTS, starts_window, "worker process starts"),
            threshold=s.worker_starts_critical, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1, missing=Missing.NOT_BREACHING,
            what=f"{s.worker_starts_critical} or more worker process starts in 5 min: the worker "
                 "crashes and systemd restarts it; nothing is processed.",
            first="Read the worker log around worker_started for config_invalid, startup_failed "
                  "or worker_crashed; roll back the last worker change.",
        )
        # Paused consumption: the worker logs consumption_paused when the index or the bucket is
        # unavailable and again every 60 s while paused, so a paused minute has a line.
        # Missing = no pause line (the worker is consuming, or silent: another alarm).
        self._alarm(
            "consumption-paused", critical,
            log_metrics.count(CONSUMPTION_PAUSED, ONE_MINUTE, "paused (lines per minute)"),
            threshold=1, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # N paused minutes out of N + 1: the 60 s repetition drifts, and a minute that
            # happens to fall between two lines must not reset the count.
            datapoints_to_alarm=s.consumption_paused_minutes,
            evaluation_periods=s.consumption_paused_minutes + 1, missing=Missing.NOT_BREACHING,
            what=f"The workers paused consumption for {s.consumption_paused_minutes} min: the "
                 "index or the raw bucket is unavailable (the line's dependency field says "
                 "which); messages wait in the queue.",
            first="Check the search domain's health (cluster status, writes blocked) or the "
                  "bucket; the workers resume by themselves once it answers.",
        )
        if s.no_incoming_messages_hours is not None:
            # Nothing arriving: if the notification is deleted or narrowed the queue stays empty
            # and every other alarm stays green. One-hour sums of messages sent; the alarm needs
            # every hour of the window empty. BREACHING: SQS stops publishing a queue's metrics
            # after about six hours without messages or API calls, so for an idle queue (no
            # workers polling) "no data" is exactly "nothing sent"; notBreaching would keep the
            # alarm green forever there.
            hours = s.no_incoming_messages_hours
            self._alarm(
                "no-incoming-messages", critical,
                queue_metric(main_queue, "NumberOfMessagesSent", "Sum", Duration.hours(1),
                             "messages sent per hour"),
                threshold=1, comparison=Compare.LESS_THAN_THRESHOLD,
                evaluation_periods=hours, missing=Missing.BREACHING,
                what=f"No message reached the main queue for {hours} h: the bucket's "
                     "notification may have been removed or narrowed, or uploads stopped.",
                first="Compare the bucket's notification configuration with the code; check "
                      "that DataSync ran and uploads happened.",
                command=self._factory.drift(),
            )


    def _alarm(self, short: str, topic: sns.ITopic, metric: cloudwatch.IMetric, **kwargs
               ) -> cloudwatch.Alarm:
        return self._factory.add(self, short, topic, metric, **kwargs)
