"""When an alarm fires (thresholds) and who hears about it (subscriptions).

Two sections, because two stacks read them: the Monitoring stack builds alarms from the
thresholds, the Alerts stack subscribes people to the topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class SlackChannel:
    """An AWS Chatbot Slack channel (the workspace must be authorized in the Chatbot console)."""

    workspace_id: str
    channel_id: str


@dataclass(frozen=True)
class AlarmSubscriptions:
    """Who is told: e-mail addresses per topic, and an optional Slack channel for both topics."""

    critical_emails: tuple[str, ...] = ()
    warning_emails: tuple[str, ...] = ()
    slack: SlackChannel | None = None

    def problems(self) -> list[tuple[str, str]]:
        found = []
        for name in ("critical_emails", "warning_emails"):
            bad = [e for e in getattr(self, name) if not _EMAIL.fullmatch(e)]
            if bad:
                found.append((name, f"not e-mail addresses: {bad}"))
        return found


@dataclass(frozen=True)
class SearchAlarmThresholds:
    """The OpenSearch domain's alarms: AWS's recommended alarms for OpenSearch Service domains
    ("Recommended CloudWatch alarms for Amazon OpenSearch Service"), with their values as
    defaults. The storage threshold is a share of the configured volume, not a constant."""

    # FreeStorageSpace (MiB, per node; the alarm reads the smallest node) at or below this
    # share of search.volume_size_gib: the page recommends 25 % of each node's storage.
    free_storage_percent: float = 25.0
    jvm_memory_pressure_percent: float = 95.0
    jvm_memory_pressure_minutes: int = 3
    cpu_percent: float = 80.0
    # Three 15-minute periods: a sustained load, not a bulk burst.
    cpu_period_minutes: int = 15
    cpu_periods: int = 3
    # A domain whose replicas can never be assigned (one data node: the worker's index keeps
    # OpenSearch's default of one replica) is yellow all the time; the alarm would say nothing.
    cluster_yellow_alarm: bool = True

    def problems(self) -> list[tuple[str, str]]:
        found = []
        for name in ("free_storage_percent", "jvm_memory_pressure_percent", "cpu_percent"):
            if not 0 < getattr(self, name) < 100:
                found.append((name, "must be a percentage between 0 and 100 (exclusive)"))
        for name in ("jvm_memory_pressure_minutes", "cpu_period_minutes", "cpu_periods"):
            if getattr(self, name) < 1:
                found.append((name, "must be at least 1"))
        if self.cpu_period_minutes * self.cpu_periods > 24 * 60:
            found.append(("cpu_periods", "cpu_period_minutes x cpu_periods must be at most 1440 "
                                         "(an alarm evaluates at most one day)"))
        if self.jvm_memory_pressure_minutes > 24 * 60:
            found.append(("jvm_memory_pressure_minutes", "must be at most 1440 (one day)"))
        return found


@dataclass(frozen=True)
class AlarmThresholds:
    """When each alarm fires. Defaults are the operations guide's alarm levels."""

    dlq_warning_messages: int = 1  # any message in the DLQ needs a look (a level: warning)
    # The DLQ pages on change, not level: messages arriving in it (the rise of its visible
    # count, which also counts what SQS's redrive moves; NumberOfMessagesSent does not) per
    # window, above the expected poison share of the messages sent to the main queue in the
    # same window and at least dlq_inflow_min_messages. A steady poison rate below the share
    # only warns (dlq-not-empty); a level alarm would stay in ALARM all day and could not page
    # for a real surge later.
    dlq_expected_poison_percent: float = 5.0
    dlq_inflow_min_messages: int = 20
    dlq_inflow_window_minutes: int = 5
    # The guide's "processing delay > 5 min", counted from the end of the longest legitimate
    # job: SQS's ApproximateAgeOfOldestMessage includes messages in flight, so a job of
    # queue.worker_max_processing_seconds is that old when it finishes. The alarm's threshold
    # is worker_max_processing_seconds + this delay (600 + 300 = 900 s by default).
    oldest_message_delay_critical_seconds: int = 300
    # The DLQ's oldest message: its age counts from when it was moved to the DLQ, but the DLQ's
    # retention counts from the original send to the main queue, and a message may spend up to
    # queue.retention_days there first. Checked (config/environment.py): main retention +
    # critical + DLQ_MIN_HOURS_LEFT_AT_CRITICAL (the redrive window) <= dlq_retention_days.
    dlq_age_warning_hours: int = 72
    dlq_age_critical_hours: int = 168
    # Received-but-not-deleted: received minus deleted over the window, as a share of received.
    # The incident's signature: messages were processed, never deleted, and came back.
    undeleted_ratio_warning: float = 0.5
    undeleted_window_minutes: int = 15
    # Fewer receives than this in the window cannot raise the alarm: one slow or retried
    # message in a quiet window is a ratio of 1.0 and no incident (the DLQ alarm covers it).
    undeleted_min_received: int = 10
    # Processed but not deleted (critical): the worker logged finished objects and the queue
    # recorded no matching deletes. Faster than received-not-deleted because a finished
    # message is deleted in the same round, so no job length has to fit in the window.
    # One-minute data points, M of N: SQS's metrics arrive 1-3 minutes after the worker's log
    # metrics, and a minute whose deletes have not arrived has no data point (not a 0), so the
    # alarm judges the complete minutes; M of N also lets one odd minute pass.
    processed_not_deleted_ratio: float = 0.5
    processed_not_deleted_minutes: int = 3
    processed_not_deleted_datapoints: int = 2
    processed_not_deleted_min_processed: int = 10      # per minute
    # Queue depth: target tracking keeps about fleet.backlog_per_instance_target visible
    # messages per in-service instance, so a healthy fleet under sustained load settles near
    # it; a fixed total would warn all day. Warn when the backlog per in-service instance is
    # more than this multiple of the target AND the oldest message is older than
    # queue_depth_age_seconds (the fleet is not catching up), for N consecutive minutes.
    queue_depth_per_instance_multiple: float = 2.0
    queue_depth_age_seconds: int = 300
    queue_depth_warning_minutes: int = 5
    worker_error_rate_warning_percent: float = 5.0
    worker_error_rate_window_minutes: int = 5
    # Fewer outcomes than this in the window cannot raise the error-rate warning: one poison
    # file at night is 1 of 1 = 100 % and no trend (the DLQ warning shows the file).
    worker_error_rate_min_attempts: int = 20
    # Messages whose delete the worker finally gave up (event delete_abandoned) per minute.
    # Failed attempts that a retry fixed are on the dashboard, not here.
    delete_abandoned_warning: int = 1
    in_service_below_desired_minutes: int = 10
    # Fewer instances in service than the group's minimum size this many minutes: critical.
    # Longer than a single instance's replacement usually takes, short enough to page within
    # 5 minutes of losing the fleet at night (no backlog needed).
    fleet_below_minimum_minutes: int = 5
    silent_worker_minutes: int = 15
    # Fewer worker_alive lines than instances in service, every minute for this long: a worker
    # whose process froze (a stalled but running worker says so itself: worker-stalled). Longer
    # than an instance's boot: a new instance is in service before its worker's first line.
    workers_not_alive_minutes: int = 10
    # Worker process starts (worker_started, config_invalid, startup_failed) in 5 minutes that
    # mean a crash loop; must exceed fleet.max_capacity (every instance starting once, in a
    # rollout or a scale-out, is normal). systemd restarts a crashed worker every 5 s.
    worker_starts_critical: int = 30
    # Consumption paused (index or bucket unavailable) this many minutes in a row: critical.
    consumption_paused_minutes: int = 3
    # No message sent to the main queue for this many hours: the notification was removed or
    # narrowed. None = no alarm. Must be longer than the longest normal quiet stretch.
    no_incoming_messages_hours: int | None = None
    search: SearchAlarmThresholds = field(default_factory=SearchAlarmThresholds)

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.dlq_warning_messages < 1:
            found.append(("dlq_warning_messages", "must be at least 1"))
        if not 0 < self.dlq_expected_poison_percent <= 100:
            found.append(("dlq_expected_poison_percent", "must be in (0, 100]"))
        for name in ("oldest_message_delay_critical_seconds", "queue_depth_age_seconds",
                     "worker_error_rate_min_attempts", "processed_not_deleted_minutes",
                     "dlq_inflow_min_messages", "dlq_inflow_window_minutes",
                     "fleet_below_minimum_minutes",
                     "processed_not_deleted_datapoints",
                     "undeleted_window_minutes", "undeleted_min_received",
                     "queue_depth_warning_minutes", "worker_error_rate_window_minutes",
                     "delete_abandoned_warning", "in_service_below_desired_minutes",
                     "silent_worker_minutes", "dlq_age_warning_hours",
                     "processed_not_deleted_min_processed", "workers_not_alive_minutes",
                     "worker_starts_critical", "consumption_paused_minutes"):
            if getattr(self, name) < 1:
                found.append((name, "must be at least 1"))
        # Alarms evaluate at most one day of data: period x evaluation periods <= 24 h.
        for name in ("undeleted_window_minutes", "queue_depth_warning_minutes",
                     "dlq_inflow_window_minutes", "fleet_below_minimum_minutes",
                     "worker_error_rate_window_minutes", "in_service_below_desired_minutes",
                     "silent_worker_minutes", "processed_not_deleted_minutes",
                     "consumption_paused_minutes", "workers_not_alive_minutes"):
            if getattr(self, name) > 24 * 60:
                found.append((name, "must be at most 1440 (one day)"))
        if self.no_incoming_messages_hours is not None and not 1 <= self.no_incoming_messages_hours <= 24:
            found.append(("no_incoming_messages_hours",
                          "must be None (no alarm) or 1-24 (an alarm evaluates at most one day)"))
        if self.processed_not_deleted_datapoints > self.processed_not_deleted_minutes:
            found.append(("processed_not_deleted_datapoints",
                          "must be at most processed_not_deleted_minutes (M of N)"))
        if self.queue_depth_per_instance_multiple < 1:
            found.append(("queue_depth_per_instance_multiple",
                          "must be at least 1 (the scaling target itself is normal)"))
        if self.dlq_age_critical_hours <= self.dlq_age_warning_hours:
            found.append(("dlq_age_critical_hours", "must be longer than dlq_age_warning_hours"))
        for name in ("undeleted_ratio_warning", "processed_not_deleted_ratio"):
            if not 0 < getattr(self, name) <= 1:
                found.append((name, "must be in (0, 1]"))
        if not 0 < self.worker_error_rate_warning_percent <= 100:
            found.append(("worker_error_rate_warning_percent", "must be in (0, 100]"))
        found += [(f"search.{name}", why) for name, why in self.search.problems()]
        return found
