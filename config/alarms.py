"""When an alarm fires (thresholds) and who hears about it (subscriptions).

Two sections, because two stacks read them: the Monitoring stack builds alarms from the
thresholds, the Alerts stack subscribes people to the topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
class AlarmThresholds:
    """When each alarm fires. Defaults are the operations guide's alarm levels."""

    dlq_warning_messages: int = 1  # any message in the DLQ needs a look
    dlq_critical_messages: int = 10
    oldest_message_critical_seconds: int = 300
    queue_depth_warning_messages: int = 100
    # Received-but-not-deleted: received minus deleted over the window, as a share of received.
    # The incident's signature: messages were processed, never deleted, and came back.
    undeleted_ratio_warning: float = 0.5
    undeleted_window_minutes: int = 15
    # Fewer receives than this in the window cannot raise the alarm: one slow or retried
    # message in a quiet window is a ratio of 1.0 and no incident (the DLQ alarm covers it).
    undeleted_min_received: int = 10
    # Queue depth must stay above its threshold this long: uploads arrive in bursts that the
    # fleet's backlog scaling absorbs within minutes.
    queue_depth_warning_minutes: int = 5
    worker_error_rate_warning_percent: float = 5.0
    worker_error_rate_window_minutes: int = 5
    # Log lines "Failed to delete message" (event delete_failed) per minute; any one is a warning.
    delete_failures_warning: int = 1
    in_service_below_desired_minutes: int = 10
    silent_worker_minutes: int = 15

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if not 1 <= self.dlq_warning_messages <= self.dlq_critical_messages:
            found.append(("dlq_critical_messages", "must be at least dlq_warning_messages (>= 1)"))
        for name in ("oldest_message_critical_seconds", "queue_depth_warning_messages",
                     "undeleted_window_minutes", "undeleted_min_received",
                     "queue_depth_warning_minutes", "worker_error_rate_window_minutes",
                     "delete_failures_warning", "in_service_below_desired_minutes",
                     "silent_worker_minutes"):
            if getattr(self, name) < 1:
                found.append((name, "must be at least 1"))
        # Alarms evaluate at most one day of data: period x evaluation periods <= 24 h.
        for name in ("undeleted_window_minutes", "queue_depth_warning_minutes",
                     "worker_error_rate_window_minutes", "in_service_below_desired_minutes",
                     "silent_worker_minutes"):
            if getattr(self, name) > 24 * 60:
                found.append((name, "must be at most 1440 (one day)"))
        if not 0 < self.undeleted_ratio_warning <= 1:
            found.append(("undeleted_ratio_warning", "must be in (0, 1]"))
        if not 0 < self.worker_error_rate_warning_percent <= 100:
            found.append(("worker_error_rate_warning_percent", "must be in (0, 100]"))
        return found
