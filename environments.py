"""The values per environment: the one place where dev, staging and prod differ.

Each section (`queue`, `bucket`, `network`, `search`, `fleet`, `alarms`, `subscriptions`) has
defaults; an environment overrides only what differs. The section types and their validation
are in the `config` package. Only `app.py` chooses which environments to build.
"""

from __future__ import annotations

from config import (
    AlarmThresholds,
    BucketConfig,
    ConfigError,
    EnvironmentConfig,
    FleetConfig,
    NetworkConfig,
    SearchAlarmThresholds,
    SearchConfig,
)
from config.accounts import log_policy_problems

ENVIRONMENTS: dict[str, EnvironmentConfig] = {
    env.name: env
    for env in (
        EnvironmentConfig(
            name="dev",
            removal_policy="destroy",
            termination_protection=False,
            bucket=BucketConfig(noncurrent_version_expiration_days=7,
                                access_log_expiration_days=30, auto_delete_objects=True),
            # Interface endpoints in one AZ: half their cost, dev's largest idle cost (README).
            network=NetworkConfig(cidr="10.40.0.0/16", flow_log_retention_days=14,
                                  interface_endpoint_azs=1),
            # Cheaper than staging and prod, and the Control Tower exceptions say so ("dev only").
            search=SearchConfig(fine_grained_access_control=False, index_shards=1,
                                index_replicas=0),
            # Scales to zero when the queue is empty; the first message starts an instance.
            fleet=FleetConfig(min_capacity=0, max_capacity=2, min_healthy_percentage=0),
            # No "no incoming messages" alarm: dev gets uploads only when someone tests.
            # No yellow alarm: one data node can never hold the index's replica.
            alarms=AlarmThresholds(
                search=SearchAlarmThresholds(cluster_yellow_alarm=False)),
            log_retention_days=14,
        ),
        EnvironmentConfig(
            name="staging",
            termination_protection=False,
            network=NetworkConfig(cidr="10.41.0.0/16", flow_log_retention_days=30),
            search=SearchConfig(data_node_count=2, data_node_instance_type="t3.medium.search",
                                availability_zone_count=2, volume_size_gib=20,
                                index_shards=1, index_replicas=1,
                                admin_role_name="file-search-staging-search-admin"),
            fleet=FleetConfig(min_capacity=1, max_capacity=4),
            # No "no incoming messages" alarm: staging receives test uploads, not a daily flow,
            # so a quiet day is normal there.
            log_retention_days=30,
        ),
        EnvironmentConfig(
            name="prod",
            termination_protection=True,
            bucket=BucketConfig(noncurrent_version_expiration_days=90),
            network=NetworkConfig(cidr="10.42.0.0/16", flow_log_retention_days=365),
            search=SearchConfig(data_node_count=4, data_node_instance_type="r6g.large.search",
                                master_node_count=3, availability_zone_count=2,
                                volume_size_gib=100, index_shards=2, index_replicas=1,
                                admin_role_name="file-search-prod-search-admin"),
            fleet=FleetConfig(instance_type="m6i.large", fallback_instance_types=("m6a.large",),
                              min_capacity=2, max_capacity=10,
                              rollout_batch_size=1, min_healthy_percentage=100),
            # Uploads every business day and the DataSync run every night: a whole day (the
            # longest window an alarm can evaluate) without one message means the notification
            # is gone or narrowed. A day with neither uploads nor synced files pages once.
            alarms=AlarmThresholds(no_incoming_messages_hours=24),
            log_retention_days=365,
        ),
    )
}


def environments_named(names: list[str] | None) -> list[EnvironmentConfig]:
    """The configs for `names` (all environments when None), or a ConfigError naming the bad one.

    Checks across all environments come first, whichever are selected: an environment that
    another one's log policy depends on may not be selected itself.
    """
    problems = log_policy_problems(ENVIRONMENTS.values())
    if problems:
        raise ConfigError("invalid environments:\n  " + "\n  ".join(problems))
    if not names:
        return list(ENVIRONMENTS.values())
    unknown = [n for n in names if n not in ENVIRONMENTS]
    if unknown:
        raise ConfigError(
            f"unknown environment {', '.join(map(repr, unknown))}: "
            f"choose from {', '.join(ENVIRONMENTS)}"
        )
    return [ENVIRONMENTS[n] for n in names]
