"""Every alarm of an environment as one row of data: the single place an alarm is described.

Three readers use the rows, so an alarm is never written twice:
- the constructs (`pipeline_alarms.py`, `search_alarms.py`, `delivery_alarms.py`) turn each row
  into a CloudWatch alarm through `alarm_factory.py` (name, description, ALARM + OK actions);
- `python -m tools.alarm_docs` writes the alarm tables of docs/alarms.md, docs/operations.md
  and docs/runbook.md from them (tests/infra/test_alarm_docs.py fails when one is stale);
- tests/infra/test_monitoring_stack.py checks each synthesized alarm against its row.

A row is built by a function of the environment's settings (`AlarmThresholds`, the queue's
longest job, the fleet's scaling target, the search domain's configuration), so thresholds and
expressions follow the config. Metrics are named by their source (`MAIN_QUEUE`, `WORKER`, ...):
the constructs resolve a source to the real queue, group, log metric, domain, topic or rule.

Adding an alarm = adding one `AlarmSpec` to the function of its group below, plus the runbook
section `docs/runbook.md#alarm-<short>` (tests/infra/test_runbook_links.py demands it), then
`python -m tools.alarm_docs` to regenerate the docs table. A metric from a new source (another
AWS namespace, a new log metric) also needs that source in `SOURCES` and in the construct's
resolver. This module imports no CDK: the docs generator and the tests read it as plain data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from config import AlarmThresholds, EnvironmentConfig, SearchAlarmThresholds, SearchConfig

# Where a metric comes from: its namespace and how the docs call it. The constructs map each
# source to the resource whose dimension it carries.
MAIN_QUEUE = "main queue"
DLQ = "DLQ"
GROUP = "group"
WORKER = "worker log"
DOMAIN = "search domain"
CRITICAL_TOPIC = "critical topic"
WARNING_TOPIC = "warning topic"
RULE = "rule "  # + the change rule's short name: one source per out-of-band change rule
SOURCES = {MAIN_QUEUE: "AWS/SQS", DLQ: "AWS/SQS", GROUP: "AWS/AutoScaling",
           WORKER: "FileSearch/Ingestion/<env>", DOMAIN: "AWS/ES", CRITICAL_TOPIC: "AWS/SNS",
           WARNING_TOPIC: "AWS/SNS", RULE: "AWS/Events"}

# The out-of-band change rules' names: stacks/monitoring/change_watch.py keys its patterns by
# these (here, not there, because this module imports no CDK), and change-alert-delivery-failed
# adds up their failed deliveries. The first three watch what the incident changed.
BUCKET_NOTIFICATION_CHANGED = "bucket-notification-changed"
QUEUE_CHANGED = "queue-changed"
QUEUE_TARGET_ADDED = "queue-target-added"
TRAIL_CHANGED = "trail-changed"
RAW_KEY_CHANGED = "raw-key-changed"
BUCKET_POLICY_CHANGED = "bucket-policy-changed"
FLEET_SIZE_CHANGED = "fleet-size-changed"
ACCESS_LOGS_DELETED = "access-logs-deleted"
INCIDENT_RULES = (BUCKET_NOTIFICATION_CHANGED, QUEUE_CHANGED, QUEUE_TARGET_ADDED)
# New rules go last: the delivery alarm's metric ids follow this order.
CHANGE_RULES = (*INCIDENT_RULES, TRAIL_CHANGED, RAW_KEY_CHANGED, BUCKET_POLICY_CHANGED,
                FLEET_SIZE_CHANGED, ACCESS_LOGS_DELETED)

# Comparison as written in the table -> CloudFormation's ComparisonOperator.
COMPARISONS = {">=": "GreaterThanOrEqualToThreshold", ">": "GreaterThanThreshold",
               "<": "LessThanThreshold", "<=": "LessThanOrEqualToThreshold"}
NOT_BREACHING, BREACHING = "notBreaching", "breaching"
RUNBOOK = "docs/runbook.md#alarm-"
# CloudWatch limits an alarm description to 1024 characters.
MAX_DESCRIPTION = 1024
CRITICAL, WARNING = "critical", "warning"
MINUTE = 60


@dataclass(frozen=True)
class Metric:
    """One CloudWatch metric of `source`, `period` in seconds. The label shows on graphs."""

    source: str
    name: str
    statistic: str
    period: int = MINUTE
    label: str | None = None

    def __post_init__(self) -> None:
        if source_kind(self.source) not in SOURCES:
            raise ValueError(f"metric {self.name}: unknown source {self.source!r}, "
                             f"choose from {sorted(SOURCES)}")


@dataclass(frozen=True)
class Math:
    """A metric math expression over `using` (id -> metric or nested expression)."""

    expression: str
    using: dict[str, Metric | Math]
    period: int
    label: str | None = None


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm. `what` and `first` make its description (what it means; the first step after
    the `ops` command), `fires_when` and `level` its line in docs/alarms.md (the condition in
    words, the same in every environment; this environment's values in a few words), `read`
    and `then` its line in docs/runbook.md's summary (what of the command's output to read;
    what to do next, in a few words)."""

    short: str
    topic: str
    metric: Metric | Math
    comparison: str
    threshold: float
    what: str
    first: str
    fires_when: str
    level: str
    then: str
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None  # None: all evaluation periods
    missing: str = NOT_BREACHING
    command: str = "diagnose"  # the `python -m ops <command> --env <env>` the description names
    read: str = ""  # what of the command's output to read first (runbook summary)

    def __post_init__(self) -> None:
        if self.topic not in (CRITICAL, WARNING):
            raise ValueError(f"alarm {self.short}: topic {self.topic!r} is not critical or warning")
        if self.comparison not in COMPARISONS:
            raise ValueError(f"alarm {self.short}: comparison {self.comparison!r}, "
                             f"choose from {sorted(COMPARISONS)}")

    @property
    def datapoints(self) -> int:
        return self.datapoints_to_alarm or self.evaluation_periods

    def description(self, environment: str) -> str:
        """"<what> First: `python -m ops <command> --env <env>`; <first> Runbook: <link>" (the
        `alarm-` prefix keeps alarm sections apart from the runbook's `check-` and `command-`
        ones)."""
        text = (f"{self.what} First: `python -m ops {self.command} --env {environment}`; "
                f"{self.first} Runbook: {RUNBOOK}{self.short}")
        if len(text) > MAX_DESCRIPTION:
            raise ValueError(f"alarm {self.short}: description has {len(text)} characters, "
                             f"CloudWatch allows {MAX_DESCRIPTION}")
        return text


def source_kind(source: str) -> str:
    return RULE if source.startswith(RULE) else source


# --- queue, DLQ, worker and fleet (PipelineAlarms) ---------------------------------------------

def pipeline_alarms(s: AlarmThresholds, *, longest_job_seconds: int,
                    backlog_per_instance_target: int) -> list[AlarmSpec]:
    """`longest_job_seconds` is the queue's worker_max_processing_seconds: a message in flight
    that long is a legitimate job, not a delay. `backlog_per_instance_target` is the fleet's
    scaling target (visible messages per in-service instance), which queue-depth is measured
    against.

    Queue metrics: an SQS queue stops reporting after about six hours without messages or API
    calls. A queue holding messages always reports, so a gap means "empty and idle":
    NOT_BREACHING for every queue alarm except no-incoming-messages, for which "idle" is the
    failure.
    """
    rows = [AlarmSpec(
        "dlq-not-empty", WARNING,
        Metric(DLQ, "ApproximateNumberOfMessagesVisible", "Maximum", label="DLQ visible"),
        ">=", s.dlq_warning_messages,
        what=f"The dead-letter queue holds {s.dlq_warning_messages} or more messages: "
             "messages failed maxReceiveCount times or were poison.",
        first="Read the worker's sent_to_dlq lines for the reason; fix the cause, then redrive.",
        fires_when="DLQ visible messages (Maximum, 1 min) ≥ threshold",
        level=f"≥ {s.dlq_warning_messages}",
        read="the `dlq` line: reasons", then="fix the cause; `ops redrive --reason R`",
    )]
    # The DLQ pages on change, not level: a level alarm stays in ALARM all day on an ordinary
    # poison rate and then cannot page for a real surge. Inflow = the rise of the visible count
    # from one window to the next (DIFF of the window's Maximum; FILL 0: an idle DLQ that
    # stopped reporting is empty). It counts what SQS's redrive moves, which the DLQ's
    # NumberOfMessagesSent does not (the incident's kind), and the worker's poison sends. Pages
    # above the expected poison share of what was sent to the main queue in the same window, and
    # at least dlq_inflow_min_messages; a redrive or purge is negative.
    inflow = s.dlq_inflow_window_minutes * MINUTE
    share = s.dlq_expected_poison_percent / 100
    rows.append(AlarmSpec(
        "dlq-filling", CRITICAL,
        Math(f"IF(DIFF(FILL(dlq, 0)) >= {s.dlq_inflow_min_messages} AND "
             f"DIFF(FILL(dlq, 0)) > {share:g} * FILL(sent, 0), 1, 0)",
             {"dlq": Metric(DLQ, "ApproximateNumberOfMessagesVisible", "Maximum", inflow),
              "sent": Metric(MAIN_QUEUE, "NumberOfMessagesSent", "Sum", inflow)},
             inflow, label="DLQ inflow beyond the expected poison rate"),
        ">=", 1,
        what=f"At least {s.dlq_inflow_min_messages} messages reached the dead-letter queue in "
             f"{s.dlq_inflow_window_minutes} min, more than "
             f"{s.dlq_expected_poison_percent:g} % of those sent to the main queue: "
             "processing is failing at scale (the incident's end state).",
        first="Check delete failures and worker errors first; stop DataSync if the DLQ "
              "keeps growing; do not purge before the cause is known.",
        fires_when="DLQ inflow: `DIFF(FILL(dlq visible, 0))` of N-min Maximums ≥ M **and** > "
                   "expected poison share × main queue's NumberOfMessagesSent in the window",
        level=f"≥ {s.dlq_inflow_min_messages} in {s.dlq_inflow_window_minutes} min and > "
              f"{s.dlq_expected_poison_percent:g} %",
        then="`ops pause` if it keeps growing; never purge first",
    ))
    # ApproximateAgeOfOldestMessage counts messages in flight too, so a legitimate job of
    # longest_job_seconds is that old when it finishes: the threshold starts counting the delay
    # there (the replay in tests/infra/test_alarm_replay.py runs a 600 s job on a normal day
    # and checks that nobody is paged).
    oldest = longest_job_seconds + s.oldest_message_delay_critical_seconds
    rows.append(AlarmSpec(
        "oldest-message-age", CRITICAL,
        Metric(MAIN_QUEUE, "ApproximateAgeOfOldestMessage", "Maximum",
               label="age of oldest message"),
        ">", oldest,
        what=f"A message has been in the queue more than {oldest} s (the longest "
             f"job, {longest_job_seconds} s, plus {s.oldest_message_delay_critical_seconds} s): "
             "processing is delayed.",
        first="Check in-service instances and worker errors; scale out if the fleet is "
              "healthy but behind.",
        fires_when="main queue ApproximateAgeOfOldestMessage (Maximum, 1 min) > longest job + "
                   "delay",
        level=f"> {oldest} s",
        read="`backlog`, `fleet`", then="scale or fix the fleet",
    ))
    # The DLQ's age counts from when a message was moved there, but its retention from the
    # original send to the main queue (up to queue.retention_days earlier): the thresholds are
    # validated against both (config/environment.py). Five-minute periods: the age moves in
    # days. No data = an idle, empty DLQ.
    for short, topic, hours, when, read, then in (
            ("dlq-aging", WARNING, s.dlq_age_warning_hours, "needs handling",
             "`dlq`: age, reasons", "fix, `ops redrive` within the retention"),
            ("dlq-expiring", CRITICAL, s.dlq_age_critical_hours,
             "may be deleted by the DLQ's retention (counted from its original send) "
             "within days", "`dlq`",
             "`ops redrive` now, or `ops purge --queue dlq` to keep an archive")):
        rows.append(AlarmSpec(
            short, topic,
            Metric(DLQ, "ApproximateAgeOfOldestMessage", "Maximum", 5 * MINUTE,
                   label="DLQ age of oldest message"),
            ">", hours * 3600,
            what=f"A dead-letter message is more than {hours} h old and {when}.",
            first="Find the cause in its reason attribute, fix it, then redrive the DLQ "
                  "before the retention deletes the messages.",
            fires_when="DLQ ApproximateAgeOfOldestMessage (Maximum, 5 min) > threshold"
                       + ("" if topic == WARNING else "; main retention + threshold + 48 h ≤ "
                                                      "the DLQ's retention"),
            level=f"> {hours} h", read=read, then=then,
        ))
    # Queue depth measured against the fleet's own scaling target: target tracking keeps about
    # `backlog_per_instance_target` visible messages per in-service instance, so a healthy fleet
    # under sustained load sits near it (a fixed total warned all day). The fleet is behind when
    # the backlog per instance is a multiple of the target AND the oldest message keeps aging.
    # FILL(in_service, 0): no group data = no instance counted.
    per_instance = s.queue_depth_per_instance_multiple * backlog_per_instance_target
    rows.append(AlarmSpec(
        "queue-depth", WARNING,
        Math(f"IF(visible > {per_instance:g} * FILL(in_service, 0) "
             f"AND age > {s.queue_depth_age_seconds}, 1, 0)",
             {"visible": Metric(MAIN_QUEUE, "ApproximateNumberOfMessagesVisible", "Maximum"),
              "age": Metric(MAIN_QUEUE, "ApproximateAgeOfOldestMessage", "Maximum"),
              "in_service": Metric(GROUP, "GroupInServiceInstances", "Average")},
             MINUTE, label="backlog beyond what the fleet absorbs"),
        ">=", 1, evaluation_periods=s.queue_depth_warning_minutes,
        what=f"More than {per_instance:g} messages waiting per in-service instance "
             f"({s.queue_depth_per_instance_multiple:g} x the scaling target) and the oldest "
             f"older than {s.queue_depth_age_seconds} s, for {s.queue_depth_warning_minutes} "
             "min: the fleet is not catching up.",
        first="Check that the fleet scaled out (at max_capacity?) and is processing; look "
              "for duplicate notification paths if depth grows without uploads.",
        fires_when="visible > multiple × `fleet.backlog_per_instance_target` × "
                   "`GroupInServiceInstances` **and** age of oldest > N s, every minute for "
                   "M minutes",
        level=f"> {per_instance:g} per instance and > {s.queue_depth_age_seconds} s for "
              f"{s.queue_depth_warning_minutes} min",
        read="`notification`, `eventbridge-targets`, `fleet`",
        then="remove a second notification path (`ops drift`), or scale",
    ))
    # Received but not deleted, over a window long enough to hold a whole job (worker max
    # processing time <= visibility timeout): a message received once and deleted later in the
    # window contributes 0. Each extra receive of the same message (visibility timeout expired,
    # transient retry, a delete that failed) adds 1 to received and nothing to deleted, which
    # is exactly the incident. Poison messages are sent to the DLQ by the worker and then
    # deleted, so they do not count here; SQS redrives count (never deleted). A window can go
    # negative (deletes of messages received in the previous one): harmless.
    window = s.undeleted_window_minutes * MINUTE
    rows.append(AlarmSpec(
        "received-not-deleted", WARNING,
        Math(f"IF(received >= {s.undeleted_min_received}, "
             "(received - FILL(deleted, 0)) / received, 0)",
             {"received": Metric(MAIN_QUEUE, "NumberOfMessagesReceived", "Sum", window,
                                 "received"),
              "deleted": Metric(MAIN_QUEUE, "NumberOfMessagesDeleted", "Sum", window, "deleted")},
             window, label="share of received messages not deleted"),
        # No receives at all = no data = nothing to judge.
        ">", s.undeleted_ratio_warning,
        what=f"More than {s.undeleted_ratio_warning:.0%} of the messages received in "
             f"{s.undeleted_window_minutes} min were not deleted: workers process but do "
             "not delete, and messages come back (the incident's signature).",
        first="Search the worker log for 'Failed to delete message' and message_failed; "
              "check the visibility timeout and the worker's SQS permissions.",
        fires_when="`(received − deleted) / received` over the window, when at least N were "
                   "received",
        level=f"> {s.undeleted_ratio_warning:g} over {s.undeleted_window_minutes} min, "
              f"≥ {s.undeleted_min_received} received",
        read="`worker-log`, `queue-attributes`", then="`ops pause`, fix, `ops resume`",
    ))
    # Error rate from the worker's own log lines; a poison message sent to the DLQ counts as an
    # error (its line is sent_to_dlq, not message_failed).
    err = s.worker_error_rate_window_minutes * MINUTE
    rows.append(AlarmSpec(
        "worker-error-rate", WARNING,
        # The floor: one poison file at night is 1 of 1 = 100 %, not a trend.
        Math(f"IF(attempts >= {s.worker_error_rate_min_attempts}, 100 * errors / attempts, 0)",
             {"errors": Math("FILL(failed, 0) + FILL(dlq, 0)",
                             {"failed": Metric(WORKER, "MessagesFailed", "Sum", err),
                              "dlq": Metric(WORKER, "SentToDlq", "Sum", err)}, err),
              "attempts": Math("FILL(processed, 0) + FILL(failed, 0) + FILL(dlq, 0)",
                               {"processed": Metric(WORKER, "MessagesProcessed", "Sum", err),
                                "failed": Metric(WORKER, "MessagesFailed", "Sum", err),
                                "dlq": Metric(WORKER, "SentToDlq", "Sum", err)}, err)},
             err, label="worker error rate (%)"),
        # No log lines = no work = no error rate; a silent fleet has its own alarm.
        ">", s.worker_error_rate_warning_percent,
        what=f"More than {s.worker_error_rate_warning_percent:g} % of messages failed or "
             f"went to the DLQ in {s.worker_error_rate_window_minutes} min (at least "
             f"{s.worker_error_rate_min_attempts} outcomes).",
        first="Group the worker's message_failed lines by error; 429/503 means OpenSearch "
              "is overloaded, other codes point at S3, SQS or the documents.",
        fires_when="`100 × (failed + sent_to_dlq) / (processed + failed + sent_to_dlq)` from "
                   "the worker log, when at least N outcomes",
        level=f"> {s.worker_error_rate_warning_percent:g} % over "
              f"{s.worker_error_rate_window_minutes} min, ≥ {s.worker_error_rate_min_attempts} "
              "outcomes",
        read="`worker-log`, `search-domain`", then="fix OpenSearch or permissions",
    ))
    # Messages whose delete the worker finally gave up (after its retries): each one comes back
    # after the visibility timeout. Failed attempts that a retry fixed are counted on the
    # dashboard only. Missing = no line matched and none was logged: no failure.
    rows.append(AlarmSpec(
        "delete-failures", WARNING,
        Metric(WORKER, "DeletesAbandoned", "Sum", label="deletes abandoned"),
        ">=", s.delete_abandoned_warning,
        what="The worker gave up deleting a message after its retries ('Failed to delete "
             "message', event delete_abandoned): it comes back after the visibility timeout "
             "and is processed again (the incident's cause).",
        first="Read the line's code field (AccessDenied, ReceiptHandleIsInvalid, throttling) "
              "and fix permissions or the visibility timeout before the DLQ fills.",
        fires_when="messages whose delete the worker finally gave up (`delete_abandoned`) per "
                   "minute",
        level=f"≥ {s.delete_abandoned_warning}",
        read="`worker-log`, `queue-attributes`", then="fix before the DLQ fills",
    ))
    # The incident's cause, fast: the worker logged finished objects and the queue recorded no
    # deletes for them. A finished message is deleted in the same round (seconds), so unlike
    # received-not-deleted no job has to fit in the window, and a long job adds one processed
    # line and one delete in the same minute. One-minute data points and no FILL on deleted:
    # SQS's metrics arrive 1-3 minutes after the log metrics, and a minute whose deletes have
    # not arrived yet must be missing (skipped), not 0 (a breach on every busy minute). SQS
    # publishes 0 deletes while workers poll, so "no delete at all" still has data. M of N
    # complete minutes. No processed line = nothing to judge (silent-worker).
    rows.append(AlarmSpec(
        "processed-not-deleted", CRITICAL,
        Math(f"IF(processed >= {s.processed_not_deleted_min_processed}, "
             "(processed - deleted) / processed, 0)",
             {"processed": Metric(WORKER, "MessagesProcessed", "Sum"),
              "deleted": Metric(MAIN_QUEUE, "NumberOfMessagesDeleted", "Sum")},
             MINUTE, label="share of processed objects not deleted"),
        ">", s.processed_not_deleted_ratio,
        datapoints_to_alarm=s.processed_not_deleted_datapoints,
        evaluation_periods=s.processed_not_deleted_minutes,
        what=f"More than {s.processed_not_deleted_ratio:.0%} of the objects the workers "
             f"finished were not deleted from the queue in {s.processed_not_deleted_datapoints}"
             f" of {s.processed_not_deleted_minutes} minutes: every one comes back and is "
             "processed again (the incident).",
        first="Search the worker log for delete_failed; check the workers' sqs:DeleteMessage "
              "permission; pause DataSync until deletes succeed.",
        fires_when="`(processed − deleted) / processed` per minute: worker-logged finished "
                   "objects vs the queue's deletes; M of N minutes",
        level=f"> {s.processed_not_deleted_ratio:g} in {s.processed_not_deleted_datapoints} of "
              f"{s.processed_not_deleted_minutes} min, ≥ {s.processed_not_deleted_min_processed}"
              " processed a minute",
        read="`worker-log`, `queue-attributes`", then="fix deletes; `ops pause` if the DLQ fills",
    ))
    # Desired minus in service, per minute; the group publishes both every minute while it
    # exists, 0 and 0 when dev scales to zero (no alarm). A gap means the metrics stopped, not
    # that instances are missing: NOT_BREACHING, the queue alarms still watch the work.
    rows.append(AlarmSpec(
        "in-service-below-desired", WARNING,
        Math("desired - in_service",
             {"desired": Metric(GROUP, "GroupDesiredCapacity", "Average"),
              "in_service": Metric(GROUP, "GroupInServiceInstances", "Average")},
             MINUTE, label="instances missing"),
        ">", 0, evaluation_periods=s.in_service_below_desired_minutes,
        what=f"Fewer instances in service than desired for "
             f"{s.in_service_below_desired_minutes} min: launches fail or instances do not "
             "start the worker.",
        first="Read the group's activity history (the warning topic gets launch errors) "
              "and the boot log of a failed instance.",
        fires_when="`GroupDesiredCapacity − GroupInServiceInstances` > 0 every minute for N "
                   "minutes",
        level=f"{s.in_service_below_desired_minutes} min",
        read="`fleet`", then="scaling activities, boot log",
    ))
    # A lost fleet, day or night: fewer instances in service than the group's own minimum
    # (every instance unhealthy or terminated, launches failing). Needs no backlog, unlike
    # silent-worker, and compares with GroupMinSize rather than the configuration so that
    # `ops pause` (min and desired to 0) does not page. FILL(in_service, 0): the group publishes
    # both while it exists; no in-service data with a minimum is no instance.
    rows.append(AlarmSpec(
        "fleet-below-minimum", CRITICAL,
        Math("IF(FILL(in_service, 0) < min_size, 1, 0)",
             {"in_service": Metric(GROUP, "GroupInServiceInstances", "Minimum"),
              "min_size": Metric(GROUP, "GroupMinSize", "Maximum")},
             MINUTE, label="in service below the group's minimum"),
        ">=", 1, evaluation_periods=s.fleet_below_minimum_minutes,
        what=f"Fewer instances in service than the group's minimum size for "
             f"{s.fleet_below_minimum_minutes} min: the fleet is lost (instances unhealthy "
             "or terminated, launches failing); nothing consumes the queue.",
        first="Read the group's activity history and the boot log of a failed instance; "
              "check the launch template, capacity and the instances' health.",
        fires_when="`GroupInServiceInstances` (Minimum, `FILL` 0) < `GroupMinSize`, every "
                   "minute for N minutes",
        level=f"{s.fleet_below_minimum_minutes} min",
        read="`fleet`", then="activity history, launch template, boot log",
    ))
    # Silent worker: a backlog all minute long and not one processed line, minute after minute.
    # FILL: the processed metric has no data point when no line was logged at all, which is the
    # very case to catch. No queue data (idle empty queue) = nothing to do.
    rows.append(AlarmSpec(
        "silent-worker", CRITICAL,
        Math("IF(visible > 0 AND FILL(processed, 0) == 0, 1, 0)",
             {"visible": Metric(MAIN_QUEUE, "ApproximateNumberOfMessagesVisible", "Minimum"),
              "processed": Metric(WORKER, "MessagesProcessed", "Sum")},
             MINUTE, label="backlog but nothing processed"),
        ">=", 1, evaluation_periods=s.silent_worker_minutes,
        what=f"Messages waiting and no message processed for {s.silent_worker_minutes} min: "
             "the workers are down, stuck or cannot reach SQS.",
        first="Check in-service instances, then the worker log (worker_stopped, "
              "receive_failed); restart the fleet with an instance refresh if needed.",
        fires_when="backlog (visible, Minimum) > 0 and no `message_processed` line, every "
                   "minute for N minutes",
        level=f"{s.silent_worker_minutes} min",
        read="`fleet`, `worker-log`", then="instance refresh; `ops resume` if paused",
    ))
    # A hung worker (#22). Auto Scaling checks only the instance (no load balancer), so an
    # instance whose worker is stuck stays InService. The worker judges itself once a minute
    # (worker_asset/ingest_worker/liveness.py: receive loop silent for 2 min, a round older than
    # the visibility timeout, a pipeline thread ended) and says so: one line pages.
    rows.append(AlarmSpec(
        "worker-stalled", CRITICAL,
        Metric(WORKER, "WorkerStalled", "Sum", label="stalled workers"),
        ">=", 1,
        what="A worker reports that it is not consuming (the line's reasons say why: a "
             "pipeline ended, no receive for minutes, a round past the visibility timeout); "
             "its instance stays in service and holds its messages.",
        first="Find the instance in the worker log (worker_stalled, instance_id) and mark it "
              "unhealthy so that Auto Scaling replaces it.",
        fires_when="`worker_stalled` lines (a worker judging itself stuck) in a minute ≥ 1",
        level="≥ 1",
        read="`worker-log`, `fleet`",
        then="find the instance (`instance_id`); mark it unhealthy to replace it",
    ))
    # A worker too frozen to say so writes no line at all: fewer worker_alive lines (one per
    # live worker per minute) than instances in service, minute after minute. FILL(alive, 0):
    # a fleet of frozen workers logs nothing. Minimum of in service: an instance that joins
    # during a minute is not yet expected; the window outlasts an instance's boot.
    rows.append(AlarmSpec(
        "workers-not-alive", CRITICAL,
        Math("IF(FILL(in_service, 0) - FILL(alive, 0) >= 1, 1, 0)",
             {"in_service": Metric(GROUP, "GroupInServiceInstances", "Minimum"),
              "alive": Metric(WORKER, "WorkersAlive", "Sum")},
             MINUTE, label="instances in service without a live worker"),
        ">=", 1, evaluation_periods=s.workers_not_alive_minutes,
        what=f"Fewer workers logging worker_alive than instances in service for "
             f"{s.workers_not_alive_minutes} min: a worker process is frozen or gone while "
             "its instance stays in service.",
        first="Find the instance without worker_alive lines (Logs Insights, instance_id) and "
              "mark it unhealthy so that Auto Scaling replaces it.",
        fires_when="`GroupInServiceInstances` (Minimum) − `worker_alive` lines ≥ 1, every "
                   "minute for N minutes",
        level=f"{s.workers_not_alive_minutes} min",
        read="`fleet`, `worker-log`",
        then="find the instance without `worker_alive` lines; mark it unhealthy",
    ))
    # A crash loop: systemd restarts a crashing worker every 5 s and each start logs one line,
    # while the instances stay healthy for Auto Scaling. Every instance starting once (a
    # rollout, a scale-out) stays below the threshold (checked against fleet.max_capacity).
    rows.append(AlarmSpec(
        "worker-crash-loop", CRITICAL,
        Metric(WORKER, "WorkerStarts", "Sum", 5 * MINUTE, "worker process starts"),
        ">=", s.worker_starts_critical,
        what=f"{s.worker_starts_critical} or more worker process starts in 5 min: the worker "
             "crashes and systemd restarts it; nothing is processed.",
        first="Read the worker log around worker_started for config_invalid, startup_failed "
              "or worker_crashed; roll back the last worker change.",
        fires_when="worker process starts (`worker_started`, `config_invalid`, "
                   "`startup_failed`) in 5 min ≥ threshold",
        level=f"≥ {s.worker_starts_critical}",
        read="`fleet`, `backlog`", then="read `config_invalid` / `startup_failed`; roll back",
    ))
    # Paused consumption: the worker logs consumption_paused when the index or the bucket is
    # unavailable and again every 60 s while paused, so a paused minute has a line. Missing =
    # no pause line (the worker is consuming, or silent: another alarm). N paused minutes out
    # of N + 1: the 60 s repetition drifts, and a minute that happens to fall between two lines
    # must not reset the count.
    rows.append(AlarmSpec(
        "consumption-paused", CRITICAL,
        Metric(WORKER, "ConsumptionPaused", "Sum", label="paused (lines per minute)"),
        ">=", 1,
        datapoints_to_alarm=s.consumption_paused_minutes,
        evaluation_periods=s.consumption_paused_minutes + 1,
        what=f"The workers paused consumption for {s.consumption_paused_minutes} min: the "
             "index or the raw bucket is unavailable (the line's dependency field says "
             "which); messages wait in the queue.",
        first="Check the search domain's health (cluster status, writes blocked) or the "
              "bucket; the workers resume by themselves once it answers.",
        fires_when="`consumption_paused` lines in N of N + 1 minutes",
        level=f"{s.consumption_paused_minutes} of {s.consumption_paused_minutes + 1} min",
        read="`worker-log`, `search-domain`, `alarms`",
        then="fix the index or bucket; the workers resume by themselves",
    ))
    if s.no_incoming_messages_hours is not None:
        # Nothing arriving: if the notification is deleted or narrowed the queue stays empty and
        # every other alarm stays green. One-hour sums of messages sent; the alarm needs every
        # hour of the window empty. BREACHING: SQS stops publishing a queue's metrics after
        # about six hours without messages or API calls, so for an idle queue (no workers
        # polling) "no data" is exactly "nothing sent"; notBreaching would keep the alarm green
        # forever there.
        hours = s.no_incoming_messages_hours
        rows.append(AlarmSpec(
            "no-incoming-messages", CRITICAL,
            Metric(MAIN_QUEUE, "NumberOfMessagesSent", "Sum", 3600, "messages sent per hour"),
            "<", 1, evaluation_periods=hours, missing=BREACHING, command="drift",
            what=f"No message reached the main queue for {hours} h: the bucket's "
                 "notification may have been removed or narrowed, or uploads stopped.",
            first="Compare the bucket's notification configuration with the code; check "
                  "that DataSync ran and uploads happened.",
            fires_when="main queue NumberOfMessagesSent (Sum, 1 h) < 1 for every hour of the "
                       "window; missing = breaching",
            level=f"{hours} h",
            then="put the notification back; `ops reconcile --apply`",
        ))
    return rows


# --- the search domain (SearchDomainAlarms) ----------------------------------------------------

MIB_PER_GIB = 1024


def free_storage_threshold_mib(*, volume_size_gib: int, percent: float) -> float:
    """FreeStorageSpace is reported in MiB per node; the alarm fires at `percent` of a volume."""
    return volume_size_gib * MIB_PER_GIB * percent / 100


def search_alarms(search: SearchConfig, s: SearchAlarmThresholds) -> list[AlarmSpec]:
    """AWS's recommended alarms for OpenSearch Service domains (statistic, period and periods
    from that page, thresholds from `SearchAlarmThresholds`; search_alarms.py has the source).

    An imported domain gets every alarm whose meaning does not depend on its size: its volume
    size and master nodes are unknown here, so FreeStorageSpace (a share of the volume) and
    MasterReachableFromNode are left out for it. Missing data is NOT_BREACHING throughout: the
    domain publishes every minute while it exists, so a gap is CloudWatch's or the domain's, and
    the workers' own alarms (paused, silent) watch the work meanwhile.
    """
    def metric(name: str, statistic: str, minutes: int = 1) -> Metric:
        return Metric(DOMAIN, name, statistic, minutes * MINUTE)

    rows = [AlarmSpec(
        "search-cluster-red", CRITICAL, metric("ClusterStatus.red", "Maximum"), ">=", 1,
        what="A primary shard of the search domain is unassigned (cluster red): "
             "indexing into it fails.",
        first="Check the domain's health in the console; the workers pause and resume "
              "by themselves.",
        fires_when="ClusterStatus.red (Maximum, 1 min) ≥ 1", level="on",
        read="`search-domain`, `worker-log`",
        then="domain health; `ops reconcile` once green")]
    if s.cluster_yellow_alarm:
        rows.append(AlarmSpec(
            "search-cluster-yellow", WARNING, metric("ClusterStatus.yellow", "Maximum"), ">=", 1,
            evaluation_periods=5,
            what="A replica shard of the search domain has been unassigned for 5 min "
                 "(cluster yellow): one more node failure can lose data.",
            first="Check node count and free storage; a replica needs a second data node.",
            fires_when="ClusterStatus.yellow (Maximum, 1 min) ≥ 1 for 5 min", level="on",
            read="`search-domain`",
            then="nodes, free storage"))
    rows.append(AlarmSpec(
        "search-writes-blocked", CRITICAL, metric("ClusterIndexWritesBlocked", "Maximum", 5),
        ">=", 1,
        what="The search domain blocks writes (ClusterIndexWritesBlocked): no file can be "
             "indexed; the workers pause and the messages wait in the queue.",
        first="Usually storage or JVM memory: check FreeStorageSpace and "
              "JVMMemoryPressure, then add storage or scale the domain.",
        fires_when="ClusterIndexWritesBlocked (Maximum, 5 min) ≥ 1", level="on",
        read="`alarms`, `worker-log`",
        then="free storage or memory; never purge"))
    if not search.imported:
        mib = free_storage_threshold_mib(volume_size_gib=search.volume_size_gib,
                                         percent=s.free_storage_percent)
        rows.append(AlarmSpec(
            "search-free-storage", WARNING, metric("FreeStorageSpace", "Minimum"), "<=", mib,
            what=f"A search node has {mib:.0f} MiB or less free "
                 f"({s.free_storage_percent:g} % of its {search.volume_size_gib} GiB "
                 "volume); writes are blocked when it runs out.",
            first="Raise search.volume_size_gib or delete old documents before writes "
                  "are blocked.",
            fires_when="FreeStorageSpace (Minimum, 1 min) ≤ a share of `search.volume_size_gib`"
                       " (MiB)",
            level=f"≤ {mib:.0f} MiB ({s.free_storage_percent:g} %)",
            read="`search-domain`, `worker-log`", then="`ops reconcile --apply` (orphans), larger volume"))
    rows.append(AlarmSpec(
        "search-jvm-pressure", WARNING, metric("JVMMemoryPressure", "Maximum"),
        ">=", s.jvm_memory_pressure_percent, evaluation_periods=s.jvm_memory_pressure_minutes,
        what=f"JVM memory pressure at or above {s.jvm_memory_pressure_percent:g} % "
             f"for {s.jvm_memory_pressure_minutes} min: the domain may reject "
             "requests or fail with out-of-memory errors.",
        first="Scale the data nodes up; look for large bulk requests.",
        fires_when="JVMMemoryPressure (Maximum, 1 min) ≥ threshold for N min",
        level=f"≥ {s.jvm_memory_pressure_percent:g} % for {s.jvm_memory_pressure_minutes} min",
        read="`worker-log`, `backlog`", then="larger data nodes"))
    rows.append(AlarmSpec(
        "search-cpu", WARNING, metric("CPUUtilization", "Maximum", s.cpu_period_minutes),
        ">=", s.cpu_percent, evaluation_periods=s.cpu_periods,
        what=f"Search CPU at or above {s.cpu_percent:g} % for "
             f"{s.cpu_period_minutes * s.cpu_periods} min: sustained load, not a burst.",
        first="Use a larger instance type or more data nodes.",
        fires_when="CPUUtilization (Maximum, N min) ≥ threshold for M periods",
        level=f"≥ {s.cpu_percent:g} % for {s.cpu_periods} × {s.cpu_period_minutes} min",
        read="`backlog`", then="sync in progress? else scale the domain"))
    if not search.imported and search.master_node_count:
        # The page gives one day; a lost master is urgent for ingestion, so 5 minutes (long
        # enough for a master election to finish).
        rows.append(AlarmSpec(
            "search-master-unreachable", CRITICAL, metric("MasterReachableFromNode", "Maximum"),
            "<", 1, evaluation_periods=5,
            what="The search domain's master node has been unreachable for 5 min: the "
                 "cluster cannot change state.",
            first="Check the dedicated masters' health; contact AWS support if it persists.",
            fires_when="MasterReachableFromNode (Maximum, 1 min) < 1 for 5 min; only with "
                       "dedicated masters",
            level="on",
            read="`search-domain`", then="wait for a change in progress; else AWS support"))
    rows.append(AlarmSpec(
        "search-snapshot-failed", WARNING, metric("AutomatedSnapshotFailure", "Maximum"),
        ">=", 1,
        what="The domain's automated snapshot failed (usually because the cluster is red): "
             "no recent restore point.",
        first="Fix the cluster status first; snapshots resume by themselves.",
        fires_when="AutomatedSnapshotFailure (Maximum, 1 min) ≥ 1", level="on",
        read="`alarms`: red too?",
        then="fix red; snapshots resume by themselves"))
    rows.append(AlarmSpec(
        "search-write-rejected", WARNING, metric("ThreadpoolWriteRejected", "Sum"), ">=", 1,
        what="The domain rejected bulk writes (write thread pool full); the workers "
             "retry them, but persistent rejections delay indexing.",
        first="Check CPU and JVM pressure; lower the workers' concurrency or scale the "
              "domain.",
        fires_when="ThreadpoolWriteRejected (Sum, 1 min) ≥ 1", level="on",
        read="`worker-log`, `backlog`",
        then="scale the domain or lower concurrency"))
    return rows


# --- the alerting itself (DeliveryAlarms) ------------------------------------------------------

def delivery_alarms(change_rules: Sequence[str]) -> list[AlarmSpec]:
    """A notification SNS could not deliver, a change alert EventBridge could not publish.

    Each reports on the *other* severity's topic where it can: a topic whose deliveries fail
    may be the one that cannot reach anyone, and a change rule that cannot publish to the
    critical topic cannot tell the critical topic so. A failure is rare and each one matters:
    one in five minutes alarms; no data is none.
    """
    five = 5 * MINUTE

    def failed(topic_source: str) -> Metric:
        return Metric(topic_source, "NumberOfNotificationsFailed", "Sum", five)

    # One alarm for all rules: the sum of their failures; a rule without any reports no data,
    # hence FILL.
    rules = {f"rule{i}": Metric(RULE + short, "FailedInvocations", "Sum", five)
             for i, short in enumerate(change_rules)}
    common = {"command": "test-alarm"}
    return [
        AlarmSpec(
            "critical-topic-delivery-failed", WARNING, failed(CRITICAL_TOPIC), ">=", 1,
            what="The critical topic failed to deliver a notification to a subscriber (SNS "
                 "NumberOfNotificationsFailed): a page may not have reached anyone.",
            first="Open the critical topic's subscriptions: an e-mail never confirmed, a Slack "
                  "channel removed from AWS Chatbot? Re-send the page by hand until it is fixed.",
            fires_when="critical topic NumberOfNotificationsFailed (Sum, 5 min) ≥ 1", level="on",
            then="fix the topic's subscriptions",
            **common),
        AlarmSpec(
            "warning-topic-delivery-failed", CRITICAL, failed(WARNING_TOPIC), ">=", 1,
            what="The warning topic failed to deliver a notification to a subscriber (SNS "
                 "NumberOfNotificationsFailed).",
            first="Open the warning topic's subscriptions: an e-mail never confirmed, a Slack "
                  "channel removed from AWS Chatbot?",
            fires_when="warning topic NumberOfNotificationsFailed (Sum, 5 min) ≥ 1", level="on",
            then="fix the topic's subscriptions",
            **common),
        AlarmSpec(
            "change-alert-delivery-failed", WARNING,
            Math(" + ".join(f"FILL({m}, 0)" for m in rules), rules, five,
                 label="Change alerts not delivered"),
            ">=", 1,
            what="An out-of-band change rule matched but could not publish to the critical "
                 "topic (EventBridge FailedInvocations): a watched change (notification, "
                 "queues, trail, key, bucket policy, group sizes) went unreported.",
            first="Compare the critical topic's policy and its key's policy with the Alerts "
                  "stack's template; then look for the change itself.",
            fires_when="FailedInvocations (Sum, 5 min) of the out-of-band change rules, added "
                       "up, ≥ 1",
            level="on",
            then="compare topic and key policy with the template; `ops drift`", **common),
    ]


def environment_alarms(config: EnvironmentConfig,
                       change_rules: Sequence[str] = CHANGE_RULES) -> list[AlarmSpec]:
    """Every alarm of one environment, in the order the Monitoring stack creates them."""
    return [
        *pipeline_alarms(config.alarms,
                         longest_job_seconds=config.queue.worker_max_processing_seconds,
                         backlog_per_instance_target=config.fleet.backlog_per_instance_target),
        *search_alarms(config.search, config.alarms.search),
        *delivery_alarms(change_rules),
    ]
