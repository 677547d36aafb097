"""The configuration schema: one frozen, validated dataclass per section, and the environment
that holds them. The values per environment are in `environments.py`.

A bad value stops synthesis with a `ConfigError` that names every bad field and its value
(`dev.queue.max_receive_count = 0: must be between 1 and 1000`) instead of reaching AWS.
Not to be confused with the worker's `ingest_worker.config`, which the CDK app never imports.
"""

from config.alarms import (
    AlarmSubscriptions,
    AlarmThresholds,
    SearchAlarmThresholds,
    SlackChannel,
)
from config.bucket import BucketConfig
from config.environment import ConfigError, EnvironmentConfig
from config.fleet import FleetConfig
from config.log_retention import LOG_RETENTION_DAYS_ALLOWED
from config.network import ExistingVpc, NetworkConfig
from config.queue import QueueConfig
from config.search import SearchConfig

__all__ = [
    "LOG_RETENTION_DAYS_ALLOWED",
    "AlarmSubscriptions",
    "AlarmThresholds",
    "BucketConfig",
    "ConfigError",
    "EnvironmentConfig",
    "ExistingVpc",
    "FleetConfig",
    "NetworkConfig",
    "QueueConfig",
    "SearchAlarmThresholds",
    "SearchConfig",
    "SlackChannel",
]
