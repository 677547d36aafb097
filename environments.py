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
        if self.bucket.auto_delete_objects and self.removal_policy != RemovalPolicy.DESTROY:
            found.append(("bucket.auto_delete_objects",
                          "may only be true when removal_policy is DESTROY"))
        for section in (self.queue, self.bucket):
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
            log_retention_days=14,
        ),
        EnvironmentConfig(
            name="staging",
            termination_protection=False,
            log_retention_days=30,
        ),
        EnvironmentConfig(
            name="prod",
            termination_protection=True,
            bucket=BucketConfig(noncurrent_version_expiration_days=90),
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
