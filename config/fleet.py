"""The Auto Scaling group of workers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FleetConfig:
    """The Auto Scaling group of workers."""

    instance_type: str = "t3.small"
    # Types the group may launch when `instance_type` has no capacity in an AZ. Keep them the
    # same size and architecture: the scaling target is messages per instance.
    fallback_instance_types: tuple[str, ...] = ("t3a.small",)
    min_capacity: int = 1
    max_capacity: int = 4
    # Target tracking keeps visible messages per in-service instance near this value.
    backlog_per_instance_target: int = 100
    # Fetch threads per worker. None lets the worker choose from the instance's vCPUs (16 per
    # vCPU, at most 32: measured best under in-region latency, worker_asset/README.md); set it
    # only to override that choice for an instance type the benchmark did not cover.
    worker_concurrency: int | None = None
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
        if self.instance_type in self.fallback_instance_types or len(
                set(self.fallback_instance_types)) != len(self.fallback_instance_types):
            found.append(("fallback_instance_types", "must not repeat instance_type or each other"))
        if self.min_capacity < 0:
            found.append(("min_capacity", "must be at least 0"))
        if self.max_capacity < max(1, self.min_capacity):
            found.append(("max_capacity", f"must be at least 1 and at least min_capacity "
                                          f"({self.min_capacity})"))
        if self.backlog_per_instance_target < 1:
            found.append(("backlog_per_instance_target", "must be at least 1"))
        if self.worker_concurrency is not None and not 1 <= self.worker_concurrency <= 64:
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
