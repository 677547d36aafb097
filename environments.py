"""Per-environment configuration: the one place where dev, staging and prod differ.

Each environment is a frozen dataclass, validated when it is built, so a bad value stops
synthesis with a message that names the field and the value instead of reaching AWS.
Only `app.py` chooses which environments to build; constructs receive these objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass

from aws_cdk import RemovalPolicy

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS_ALLOWED = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
     2922, 3288, 3653}
)
SQS_MAX_RETENTION_DAYS = 14
SQS_MAX_VISIBILITY_SECONDS = 12 * 60 * 60


class ConfigError(ValueError):
    """An environment's configuration is invalid; the message names every bad field."""


@dataclass(frozen=True)
class QueueConfig:
    """The ingest queue pair (main queue + dead-letter queue)."""

    visibility_timeout_seconds: int = 900
    receive_wait_seconds: int = 20
    # A message that failed this many receives moves to the DLQ.
    max_receive_count: int = 5
    retention_days: int = 4
    dlq_retention_days: int = SQS_MAX_RETENTION_DAYS
    # The longest a worker may spend on one message. The visibility timeout must cover it,
    # or long jobs reappear and are processed twice (the incident's 300 s timeout did this).
    worker_max_processing_seconds: int = 600

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.max_receive_count < 1 or self.max_receive_count > 1000:
            found.append(("max_receive_count", "must be between 1 and 1000"))
        if not 0 <= self.receive_wait_seconds <= 20:
            found.append(("receive_wait_seconds", "must be between 0 and 20 (SQS long polling)"))
        if not 0 < self.visibility_timeout_seconds <= SQS_MAX_VISIBILITY_SECONDS:
            found.append(("visibility_timeout_seconds", "must be between 1 and 43200"))
        if self.worker_max_processing_seconds < 1:
            found.append(("worker_max_processing_seconds", "must be at least 1"))
        elif self.visibility_timeout_seconds < self.worker_max_processing_seconds:
            found.append((
                "visibility_timeout_seconds",
                f"must be at least worker_max_processing_seconds "
                f"({self.worker_max_processing_seconds}), or messages reappear while still "
                "being processed",
            ))
        if not 1 <= self.retention_days <= SQS_MAX_RETENTION_DAYS:
            found.append(("retention_days", "must be between 1 and 14"))
        if not 1 <= self.dlq_retention_days <= SQS_MAX_RETENTION_DAYS:
            found.append(("dlq_retention_days", "must be between 1 and 14"))
        elif self.dlq_retention_days <= self.retention_days:
            found.append((
                "dlq_retention_days",
                f"must be longer than retention_days ({self.retention_days}): a message keeps "
                "its original timestamp when it moves to the DLQ, so a shorter DLQ retention "
                "deletes it on arrival",
            ))
        return found


@dataclass(frozen=True)
class BucketConfig:
    """The raw-files bucket and its access-log bucket."""

    # The only key prefix whose new objects notify the ingest queue.
    raw_prefix: str = "raw-files/"
    noncurrent_version_expiration_days: int = 30
    access_log_expiration_days: int = 365
    # Only for environments whose removal policy is DESTROY: lets `cdk destroy` empty the
    # buckets first (adds CDK's auto-delete custom resource).
    auto_delete_objects: bool = False

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if not self.raw_prefix or self.raw_prefix.startswith("/") or not self.raw_prefix.endswith("/"):
            found.append(("raw_prefix", "must be a key prefix like 'raw-files/' (no leading "
                                        "slash, ending with '/')"))
        if self.noncurrent_version_expiration_days < 1:
            found.append(("noncurrent_version_expiration_days", "must be at least 1"))
        if self.access_log_expiration_days < 1:
            found.append(("access_log_expiration_days", "must be at least 1"))
        return found


@dataclass(frozen=True)
class ExistingVpc:
    """A VPC the environment should use instead of creating one. Given by attributes, not looked
    up, so that synthesis stays offline: copy them from `aws ec2 describe-subnets`."""

    vpc_id: str
    availability_zones: tuple[str, ...]
    isolated_subnet_ids: tuple[str, ...]
    isolated_subnet_route_table_ids: tuple[str, ...]
    vpc_cidr_block: str


@dataclass(frozen=True)
class NetworkConfig:
    """The workers' network: isolated subnets only, AWS APIs through VPC endpoints."""

    cidr: str = "10.40.0.0/16"
    max_azs: int = 2
    flow_log_retention_days: int = 90
    existing_vpc: ExistingVpc | None = None

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.max_azs < 2:
            found.append(("max_azs", "must be at least 2 (the fleet and the domain span two AZs)"))
        if self.flow_log_retention_days not in LOG_RETENTION_DAYS_ALLOWED:
            found.append(("flow_log_retention_days", "must be one of CloudWatch's retention periods"))
        vpc = self.existing_vpc
        if vpc is not None:
            if not re.fullmatch(r"vpc-[0-9a-f]{8,17}", vpc.vpc_id):
                found.append(("existing_vpc", f"vpc_id {vpc.vpc_id!r} is not a VPC id"))
            if not (len(vpc.availability_zones) == len(vpc.isolated_subnet_ids)
                    == len(vpc.isolated_subnet_route_table_ids) >= 2):
                found.append(("existing_vpc", "needs one isolated subnet and route table per "
                                              "availability zone, in at least two zones"))
        return found


@dataclass(frozen=True)
class SearchConfig:
    """The OpenSearch domain the workers index into (created here, or an existing one)."""

    index_name: str = "file-index"
    engine_version: str = "2.19"
    data_node_count: int = 1
    data_node_instance_type: str = "t3.small.search"
    # 0 = no dedicated master nodes (fine for one small development node only).
    master_node_count: int = 0
    master_node_instance_type: str = "m6g.large.search"
    # Spread data nodes over this many AZs (1 = no zone awareness).
    availability_zone_count: int = 1
    volume_size_gib: int = 10
    # Use an existing domain instead of creating one: both or neither.
    existing_domain_endpoint: str | None = None
    existing_domain_arn: str | None = None

    @property
    def imported(self) -> bool:
        return self.existing_domain_endpoint is not None

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,254}", self.index_name):
            found.append(("index_name", "must be a lowercase OpenSearch index name"))
        if (self.existing_domain_endpoint is None) != (self.existing_domain_arn is None):
            found.append(("existing_domain_arn", "existing_domain_endpoint and "
                                                 "existing_domain_arn go together"))
        if self.existing_domain_endpoint is not None and not self.existing_domain_endpoint.startswith(
                "https://"):
            found.append(("existing_domain_endpoint", "must start with https://"))
        if self.data_node_count < 1:
            found.append(("data_node_count", "must be at least 1"))
        if self.master_node_count not in (0, 3, 5):
            found.append(("master_node_count", "must be 0, 3 or 5"))
        if self.availability_zone_count not in (1, 2, 3):
            found.append(("availability_zone_count", "must be 1, 2 or 3"))
        elif self.data_node_count % self.availability_zone_count:
            found.append(("data_node_count", f"must be a multiple of availability_zone_count "
                                             f"({self.availability_zone_count})"))
        return found


@dataclass(frozen=True)
class FleetConfig:
    """The Auto Scaling group of workers."""

    instance_type: str = "t3.small"
    min_capacity: int = 1
    max_capacity: int = 4
    # Target tracking keeps visible messages per in-service instance near this value.
    backlog_per_instance_target: int = 100
    worker_concurrency: int = 8
    max_object_bytes: int = 10 * 1024 * 1024
    root_volume_gib: int = 20
    # A rollout replaces instances in batches while keeping this share of min_capacity in service;
    # an instance that does not start the worker fails the rollout and CloudFormation rolls back.
    min_healthy_percentage: int = 100
    rollout_batch_size: int = 1
    # Time a terminating instance gets to finish or release its in-flight messages.
    drain_timeout_seconds: int = 300
    # How long a new instance may take to start the worker and signal success.
    startup_timeout_minutes: int = 15

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.min_capacity < 0:
            found.append(("min_capacity", "must be at least 0"))
        if self.max_capacity < max(1, self.min_capacity):
            found.append(("max_capacity", f"must be at least 1 and at least min_capacity "
                                          f"({self.min_capacity})"))
        if self.backlog_per_instance_target < 1:
            found.append(("backlog_per_instance_target", "must be at least 1"))
        if not 1 <= self.worker_concurrency <= 64:
            found.append(("worker_concurrency", "must be between 1 and 64"))
        if self.max_object_bytes < 1:
            found.append(("max_object_bytes", "must be at least 1"))
        if not 0 <= self.min_healthy_percentage <= 100:
            found.append(("min_healthy_percentage", "must be between 0 and 100"))
        if self.rollout_batch_size < 1:
            found.append(("rollout_batch_size", "must be at least 1"))
        # The worker gets this minus 30 s to drain; the lifecycle hook allows at most 7200 s.
        if not 60 <= self.drain_timeout_seconds <= 7200:
            found.append(("drain_timeout_seconds", "must be between 60 and 7200"))
        if self.root_volume_gib < 8:
            found.append(("root_volume_gib", "must be at least 8 (Amazon Linux 2023 image size)"))
        return found


@dataclass(frozen=True)
class SlackChannel:
    """An AWS Chatbot Slack channel (the workspace must be authorized in the Chatbot console)."""

    workspace_id: str
    channel_id: str


@dataclass(frozen=True)
class AlarmConfig:
    """Who is told, and when. Defaults are the operations guide's alarm levels."""

    critical_emails: tuple[str, ...] = ()
    warning_emails: tuple[str, ...] = ()
    slack: SlackChannel | None = None
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
        email = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
        for name in ("critical_emails", "warning_emails"):
            bad = [e for e in getattr(self, name) if not email.fullmatch(e)]
            if bad:
                found.append((name, f"not e-mail addresses: {bad}"))
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


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that differs between environments. Built once, validated at construction."""

    name: str
    # Both optional: without them the stacks are environment-agnostic and synthesis needs
    # no credentials; `cdk deploy` then targets the caller's default account and region.
    account: str | None = None
    region: str | None = None
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    termination_protection: bool = True
    queue: QueueConfig = field(default_factory=QueueConfig)
    bucket: BucketConfig = field(default_factory=BucketConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    fleet: FleetConfig = field(default_factory=FleetConfig)
    alarms: AlarmConfig = field(default_factory=AlarmConfig)
    log_retention_days: int = 90

    def __post_init__(self) -> None:
        found: list[tuple[str, str]] = []
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", self.name or ""):
            found.append(("name", "must be 1-20 lowercase letters, digits or '-'"))
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
        if self.bucket.auto_delete_objects and self.removal_policy != RemovalPolicy.DESTROY:
            found.append(("bucket.auto_delete_objects",
                          "may only be true when removal_policy is DESTROY"))
        for section in (self.queue, self.bucket, self.network, self.search, self.fleet,
                        self.alarms):
            prefix = _section_name(self, section)
            found += [(f"{prefix}.{name}", why) for name, why in section.problems()]
        if found:
            lines = [f"{self.name or '?'}.{path} = {_value_at(self, path)!r}: {why}"
                     for path, why in found]
            raise ConfigError("invalid environment configuration:\n  " + "\n  ".join(lines))


def _section_name(config: EnvironmentConfig, section: object) -> str:
    return next(f.name for f in fields(config) if getattr(config, f.name) is section)


def _value_at(config: object, dotted: str) -> object:
    value = config
    for part in dotted.split("."):
        value = getattr(value, part) if is_dataclass(value) else value
    return value


ENVIRONMENTS: dict[str, EnvironmentConfig] = {
    env.name: env
    for env in (
        EnvironmentConfig(
            name="dev",
            removal_policy=RemovalPolicy.DESTROY,
            termination_protection=False,
            bucket=BucketConfig(noncurrent_version_expiration_days=7,
                                access_log_expiration_days=30, auto_delete_objects=True),
            network=NetworkConfig(cidr="10.40.0.0/16", flow_log_retention_days=14),
            # Scales to zero when the queue is empty; the first message starts an instance.
            fleet=FleetConfig(min_capacity=0, max_capacity=2, min_healthy_percentage=0),
            log_retention_days=14,
        ),
        EnvironmentConfig(
            name="staging",
            termination_protection=False,
            network=NetworkConfig(cidr="10.41.0.0/16", flow_log_retention_days=30),
            search=SearchConfig(data_node_count=2, data_node_instance_type="t3.medium.search",
                                availability_zone_count=2, volume_size_gib=20),
            fleet=FleetConfig(min_capacity=1, max_capacity=4),
            log_retention_days=30,
        ),
        EnvironmentConfig(
            name="prod",
            termination_protection=True,
            bucket=BucketConfig(noncurrent_version_expiration_days=90),
            network=NetworkConfig(cidr="10.42.0.0/16", flow_log_retention_days=365),
            search=SearchConfig(data_node_count=4, data_node_instance_type="r6g.large.search",
                                master_node_count=3, availability_zone_count=2,
                                volume_size_gib=100),
            fleet=FleetConfig(instance_type="m6i.large", min_capacity=2, max_capacity=10,
                              rollout_batch_size=1, min_healthy_percentage=100),
            log_retention_days=365,
        ),
    )
}


def environments_named(names: list[str] | None) -> list[EnvironmentConfig]:
    """The configs for `names` (all environments when None), or a ConfigError naming the bad one."""
    if not names:
        return list(ENVIRONMENTS.values())
    unknown = [n for n in names if n not in ENVIRONMENTS]
    if unknown:
        raise ConfigError(
            f"unknown environment {', '.join(map(repr, unknown))}: "
            f"choose from {', '.join(ENVIRONMENTS)}"
        )
    return [ENVIRONMENTS[n] for n in names]
