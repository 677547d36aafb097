"""One environment's whole configuration, validated across its sections when it is built."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, is_dataclass

from config.alarms import AlarmSubscriptions, AlarmThresholds
from config.bucket import BucketConfig
from config.fleet import FleetConfig
from config.log_retention import LOG_RETENTION_DAYS_ALLOWED
from config.network import NetworkConfig
from config.queue import QueueConfig
from config.search import SearchConfig
from contract.names import name_prefix

# What happens to stateful resources when their stack is deleted: kept, or deleted with it
# (disposable environments). The stacks turn it into CDK's RemovalPolicy.
REMOVAL_POLICIES = ("retain", "destroy")

# The redrive window: the DLQ age alarms must leave this long to redrive before the DLQ's
# retention deletes a message.
DLQ_MIN_HOURS_LEFT_AT_CRITICAL = 48


class ConfigError(ValueError):
    """An environment's configuration is invalid; the message names every bad field."""


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that differs between environments. Built once, validated at construction."""

    name: str
    # Both optional: without them the stacks are environment-agnostic and synthesis needs
    # no credentials; `cdk deploy` then targets the caller's default account and region.
    account: str | None = None
    region: str | None = None
    removal_policy: str = "retain"  # one of REMOVAL_POLICIES
    termination_protection: bool = True
    queue: QueueConfig = field(default_factory=QueueConfig)
    bucket: BucketConfig = field(default_factory=BucketConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    fleet: FleetConfig = field(default_factory=FleetConfig)
    alarms: AlarmThresholds = field(default_factory=AlarmThresholds)
    subscriptions: AlarmSubscriptions = field(default_factory=AlarmSubscriptions)
    log_retention_days: int = 90
    # Encrypt every log group (worker, flow logs, domain logs) with a customer-managed key
    # whose policy admits only CloudWatch Logs, for these log groups. Off: AWS-managed keys.
    customer_managed_log_key: bool = True

    @property
    def name_prefix(self) -> str:
        """`file-search-<env>`: the start of every stack name, alarm name and dashboard name."""
        return name_prefix(self.name)

    def __post_init__(self) -> None:
        found: list[tuple[str, str]] = []
        # No '-': the policies match this environment's names with `file-search-<env>-*`
        # (alarms, rules, log groups, stacks), which would also match an environment `<env>-x`.
        if not re.fullmatch(r"[a-z][a-z0-9]{0,19}", self.name or ""):
            found.append(("name", "must be 1-20 lowercase letters or digits, starting with a "
                                  "letter; no '-': ARN patterns file-search-<env>-* would also "
                                  "match the names of an environment '<env>-<anything>'"))
        if self.account is not None and not re.fullmatch(r"\d{12}", self.account):
            found.append(("account", "must be a 12-digit AWS account id or None"))
        if self.region is not None and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", self.region):
            found.append(("region", "must be an AWS region like 'eu-west-1' or None"))
        if self.log_retention_days not in LOG_RETENTION_DAYS_ALLOWED:
            found.append(("log_retention_days",
                          f"must be one of CloudWatch's periods {sorted(LOG_RETENTION_DAYS_ALLOWED)}"))
        # A window shorter than one job would call a worker that is busy with one long file
        # silent, or its not-yet-deleted messages undeleted.
        for window in ("silent_worker_minutes", "undeleted_window_minutes"):
            if getattr(self.alarms, window) * 60 <= self.queue.worker_max_processing_seconds:
                found.append((f"alarms.{window}",
                              f"must be longer than queue.worker_max_processing_seconds "
                              f"({self.queue.worker_max_processing_seconds} s)"))
        # A DLQ message expires dlq_retention_days after it was first sent to the main queue,
        # where it may have spent up to retention_days; its DLQ age counts only from the move.
        # So the age alarms must fire while main retention + age + the redrive window still
        # fits in the DLQ's retention.
        retention_hours = self.queue.dlq_retention_days * 24
        main_hours = self.queue.retention_days * 24
        for name in ("dlq_age_warning_hours", "dlq_age_critical_hours"):
            if main_hours + getattr(self.alarms, name) + DLQ_MIN_HOURS_LEFT_AT_CRITICAL > retention_hours:
                found.append((f"alarms.{name}",
                              f"must leave at least {DLQ_MIN_HOURS_LEFT_AT_CRITICAL} h to redrive: "
                              f"queue.dlq_retention_days ({self.queue.dlq_retention_days} days = "
                              f"{retention_hours} h) counts from the original send, which may be "
                              f"queue.retention_days ({main_hours} h) before the move to the DLQ"))
        # A late create event older than a removal must still find the removal's tombstone.
        if self.search.tombstone_retention_days <= self.queue.late_event_days:
            found.append(("search.tombstone_retention_days",
                          f"must be longer than queue.retention_days + queue.dlq_retention_days "
                          f"({self.queue.retention_days} + {self.queue.dlq_retention_days} days): "
                          "a create event older than a removal may arrive that late, and without "
                          "the tombstone it would bring the deleted file back"))
        if self.alarms.worker_starts_critical <= self.fleet.max_capacity:
            found.append(("alarms.worker_starts_critical",
                          f"must be more than fleet.max_capacity ({self.fleet.max_capacity}): "
                          "every instance starting once (a rollout, a scale-out) is no crash loop"))
        if self.removal_policy not in REMOVAL_POLICIES:
            found.append(("removal_policy", f"must be one of {', '.join(REMOVAL_POLICIES)}"))
        if self.bucket.auto_delete_objects and self.removal_policy != "destroy":
            found.append(("bucket.auto_delete_objects",
                          "may only be true when removal_policy is 'destroy'"))
        found += _availability_zone_problems(self)
        for section in ("queue", "bucket", "network", "search", "fleet", "alarms", "subscriptions"):
            found += [(f"{section}.{name}", why) for name, why in getattr(self, section).problems()]
        if found:
            lines = [f"{self.name or '?'}.{path} = {_value_at(self, path)!r}: {why}"
                     for path, why in found]
            raise ConfigError("invalid environment configuration:\n  " + "\n  ".join(lines))


def _availability_zone_problems(config: EnvironmentConfig) -> list[tuple[str, str]]:
    """Explicit zones exactly when the environment names its account and region (issue #18)."""
    network, found = config.network, []
    azs = network.availability_zones
    targeted = config.account is not None and config.region is not None
    if targeted and azs is None and network.existing_vpc is None:
        found.append(("network.availability_zones",
                      f"must name the VPC's zones in {config.region} when account and region are "
                      "set (an interface endpoint service is not offered in every zone)"))
    if not targeted and azs is not None:
        found.append(("network.availability_zones",
                      "needs account and region: zone names belong to one region and account"))
    if targeted and azs is not None:
        others = [az for az in azs if not (isinstance(az, str) and az[:-1] == config.region)]
        if others:
            found.append(("network.availability_zones",
                          f"{', '.join(map(repr, others))} not in region {config.region}"))
    if config.search.availability_zone_count > network.zone_count:
        found.append(("search.availability_zone_count",
                      f"must be at most the VPC's {network.zone_count} AZs"))
    return found


def _value_at(config: object, dotted: str) -> object:
    value = config
    for part in dotted.split("."):
        value = getattr(value, part) if is_dataclass(value) else value
    return value
