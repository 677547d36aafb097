"""Configuration from environment variables only.

ENV_VARS is the single list of variables the worker reads; the fleet's tests compare it with the
systemd unit, so every variable read anywhere in the worker must be declared here.
"""
from __future__ import annotations

import dataclasses
import os
import re
from typing import Mapping, Optional, Tuple

ENV_VARS: Tuple[Tuple[str, bool, str], ...] = (
    ("WORKER_QUEUE_URL", True, "URL of the main SQS queue fed by the raw bucket's notification."),
    ("WORKER_DLQ_URL", True, "URL of the dead-letter queue; poison messages are sent here."),
    ("WORKER_EXPECTED_BUCKET_OWNER", True,
     "12-digit id of the account that owns the raw bucket; every S3 read passes it as "
     "ExpectedBucketOwner (confused-deputy guard)."),
    ("WORKER_OPENSEARCH_ENDPOINT", True,
     "OpenSearch base URL: https://... on AWS, http://127.0.0.1:PORT for the local fake."),
    ("WORKER_OPENSEARCH_INDEX", False,
     "The write alias the worker writes through (default file-index-write); created at deploy "
     "time, the worker pauses while it is missing."),
    ("WORKER_OPENSEARCH_AUTH", False,
     "sigv4 (default; signs requests for service es) or none (local fake only)."),
    ("WORKER_PREFIX", False, "Only keys under this prefix are indexed (default raw-files/)."),
    ("WORKER_CONCURRENCY", False,
     "Threads fetching and extracting objects, 1-64 (default 16 per vCPU, at most 32); "
     "also sets the pipelines (one per 4)."),
    ("WORKER_MAX_OBJECT_BYTES", False,
     "Objects larger than this are indexed by metadata only (default 10485760)."),
    ("WORKER_VISIBILITY_TIMEOUT_SECONDS", False,
     "Must equal the queue's visibility timeout (default 900)."),
    ("WORKER_WAIT_TIME_SECONDS", False, "SQS long-poll wait, 0-20 (default 20)."),
    ("WORKER_SHUTDOWN_TIMEOUT_SECONDS", False,
     "Upper bound for draining in-flight work after SIGTERM (default 120)."),
    ("AWS_REGION", True, "AWS region (standard variable); required."),
    ("WORKER_AWS_ENDPOINT_URL", False,
     "Override the endpoint of every AWS client (tests point it at moto)."),
    ("WORKER_LIFECYCLE_HOOK_NAME", False,
     "Auto Scaling lifecycle hook to complete on SIGTERM (set with WORKER_ASG_NAME)."),
    ("WORKER_ASG_NAME", False, "Auto Scaling group name (set with WORKER_LIFECYCLE_HOOK_NAME)."),
    ("WORKER_LOG_LEVEL", False, "DEBUG, INFO, WARNING or ERROR (default INFO)."),
    # Content extraction (docs/extraction.md).
    ("WORKER_EXTRACT_PROCESSES", False,
     "Sandboxed extraction processes, 1-64 (default: one per vCPU)."),
    ("WORKER_EXTRACT_MEMORY_MB", False,
     "Address-space limit of one extraction process in MiB, 128-16384 (default 1024)."),
    ("WORKER_EXTRACT_CPU_SECONDS", False, "CPU-time limit per file, 1-3600 (default 60)."),
    ("WORKER_EXTRACT_TIMEOUT_SECONDS", False,
     "Wall-clock limit per file, 1-3600 (default 120); the parser is killed after it."),
    ("WORKER_EXTRACT_MAX_CHARS", False,
     "Characters of text stored per document, 1000-50000000 (default 1000000); longer text "
     "is truncated with truncated=true and its full length in content_length."),
    ("WORKER_EXTRACT_MAX_BYTES", False,
     "Size limits per kind, e.g. pdf=104857600,office=52428800,email=26214400 (defaults); "
     "text files use WORKER_MAX_OBJECT_BYTES. Larger objects get extraction=too_large."),
    ("WORKER_EXTRACT_ZIP_MAX_RATIO", False,
     "Largest expansion ratio of a zip entry (OOXML, OpenDocument), 10-10000 (default 200)."),
    ("WORKER_EXTRACT_TMPDIR", False,
     "Folder for objects streamed to disk before extraction (default: the system's)."),
)

# Size classes of WORKER_EXTRACT_MAX_BYTES and their defaults (text: WORKER_MAX_OBJECT_BYTES).
EXTRACT_MAX_BYTES_DEFAULTS = {"pdf": 104857600, "office": 52428800, "email": 26214400}

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


PER_VCPU_CONCURRENCY = 16
MAX_DEFAULT_CONCURRENCY = 32
MAX_CONCURRENCY = 64


def default_concurrency(vcpus: Optional[int] = None) -> int:
    """16 fetch threads per vCPU, at most 32. The work mostly waits on S3, SQS and the index,
    but one process runs its Python on one core at a time (the GIL): measured under in-region
    latency on 2 vCPUs, 32 threads reach 0.9 x that core's ceiling, 64 threads only cost more
    CPU per message (README "Throughput and fleet sizing")."""
    vcpus = vcpus or os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_CONCURRENCY, PER_VCPU_CONCURRENCY * vcpus))


class ConfigError(Exception):
    """A missing or invalid variable; the message names the variable and the bad value."""


@dataclasses.dataclass(frozen=True)
class Config:
    queue_url: str
    dlq_url: str
    opensearch_endpoint: str
    expected_bucket_owner: str = ""
    opensearch_index: str = "file-index-write"
    opensearch_auth: str = "sigv4"
    prefix: str = "raw-files/"
    concurrency: int = dataclasses.field(default_factory=default_concurrency)
    max_object_bytes: int = 10485760
    visibility_timeout: int = 900
    wait_time: int = 20
    shutdown_timeout: int = 120
    region: str = "us-east-1"
    aws_endpoint_url: Optional[str] = None
    lifecycle_hook_name: Optional[str] = None
    asg_name: Optional[str] = None
    log_level: str = "INFO"
    extract_processes: int = dataclasses.field(default_factory=lambda: os.cpu_count() or 1)
    extract_memory_mb: int = 1024
    extract_cpu_seconds: int = 60
    extract_timeout_seconds: int = 120
    extract_max_chars: int = 1_000_000
    extract_max_bytes: Tuple[Tuple[str, int], ...] = tuple(EXTRACT_MAX_BYTES_DEFAULTS.items())
    extract_zip_max_ratio: int = 200
    extract_tmpdir: Optional[str] = None

    def max_bytes_by_kind(self) -> dict:
        """Size class -> largest object extracted ("text" is WORKER_MAX_OBJECT_BYTES)."""
        return {**dict(self.extract_max_bytes), "text": self.max_object_bytes}

    @property
    def max_in_flight(self) -> int:
        """Messages held at once: per pipeline one round being worked on and the next one
        received ahead, up to 20 messages each (see worker.py)."""
        return self.pipelines * 40

    @property
    def pipelines(self) -> int:
        return max(1, (self.concurrency + 3) // 4)


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required but is not set")
    return value


def _url(env: Mapping[str, str], name: str, required: bool) -> Optional[str]:
    value = _required(env, name) if required else env.get(name, "").strip() or None
    if value is not None and not value.startswith(("https://", "http://")):
        raise ConfigError(f"{name}={value!r} is not an http(s) URL")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw!r} is out of range [{low}, {high}]")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: Tuple[str, ...],
            upper: bool = False) -> str:
    raw = env.get(name, "").strip() or default
    value = raw.upper() if upper else raw.lower()
    if value not in choices:
        raise ConfigError(f"{name}={raw!r} is not one of {', '.join(choices)}")
    return value


def _max_bytes(env: Mapping[str, str]) -> Tuple[Tuple[str, int], ...]:
    name = "WORKER_EXTRACT_MAX_BYTES"
    limits = dict(EXTRACT_MAX_BYTES_DEFAULTS)
    raw = env.get(name, "").strip()
    for item in filter(None, (part.strip() for part in raw.split(","))):
        kind, sep, value = item.partition("=")
        kind = kind.strip().lower()
        if not sep or kind not in limits:
            raise ConfigError(f"{name}={raw!r}: {item!r} is not KIND=BYTES with KIND one of "
                              f"{', '.join(limits)}")
        try:
            limits[kind] = int(value)
        except ValueError:
            raise ConfigError(f"{name}={raw!r}: {value.strip()!r} is not an integer") from None
        if not 0 <= limits[kind] <= 1 << 32:
            raise ConfigError(f"{name}={raw!r}: {kind} is out of range [0, {1 << 32}]")
    return tuple(limits.items())


def load(env: Mapping[str, str]) -> Config:
    queue_url = _url(env, "WORKER_QUEUE_URL", True)
    dlq_url = _url(env, "WORKER_DLQ_URL", True)
    if queue_url == dlq_url:
        raise ConfigError(f"WORKER_DLQ_URL={dlq_url!r} is the same as WORKER_QUEUE_URL")
    endpoint = _url(env, "WORKER_OPENSEARCH_ENDPOINT", True)
    owner = _required(env, "WORKER_EXPECTED_BUCKET_OWNER")
    if not re.fullmatch(r"[0-9]{12}", owner):
        raise ConfigError(f"WORKER_EXPECTED_BUCKET_OWNER={owner!r} is not a 12-digit AWS account id")
    index = env.get("WORKER_OPENSEARCH_INDEX", "").strip() or "file-index-write"
    if index != index.lower() or index.startswith(("_", "-", "+")) or any(
            c in index for c in ' "*\\<|,>/?#:'):
        raise ConfigError(f"WORKER_OPENSEARCH_INDEX={index!r} is not a valid index name")
    prefix = env.get("WORKER_PREFIX", "raw-files/")
    visibility = _int(env, "WORKER_VISIBILITY_TIMEOUT_SECONDS", 900, 1, 43200)
    hook = env.get("WORKER_LIFECYCLE_HOOK_NAME", "").strip() or None
    asg = env.get("WORKER_ASG_NAME", "").strip() or None
    if (hook is None) != (asg is None):
        missing = "WORKER_ASG_NAME" if asg is None else "WORKER_LIFECYCLE_HOOK_NAME"
        given = "WORKER_LIFECYCLE_HOOK_NAME" if asg is None else "WORKER_ASG_NAME"
        raise ConfigError(f"{missing} must be set together with {given}={hook or asg!r}")
    return Config(
        queue_url=queue_url,
        dlq_url=dlq_url,
        opensearch_endpoint=endpoint.rstrip("/"),
        expected_bucket_owner=owner,
        opensearch_index=index,
        opensearch_auth=_choice(env, "WORKER_OPENSEARCH_AUTH", "sigv4", ("sigv4", "none")),
        prefix=prefix,
        concurrency=_int(env, "WORKER_CONCURRENCY", default_concurrency(), 1, MAX_CONCURRENCY),
        max_object_bytes=_int(env, "WORKER_MAX_OBJECT_BYTES", 10485760, 0, 1 << 30),
        visibility_timeout=visibility,
        wait_time=_int(env, "WORKER_WAIT_TIME_SECONDS", 20, 0, 20),
        shutdown_timeout=_int(env, "WORKER_SHUTDOWN_TIMEOUT_SECONDS", 120, 1, 3600),
        region=_required(env, "AWS_REGION"),
        aws_endpoint_url=_url(env, "WORKER_AWS_ENDPOINT_URL", False),
        lifecycle_hook_name=hook,
        asg_name=asg,
        log_level=_choice(env, "WORKER_LOG_LEVEL", "INFO", LOG_LEVELS, upper=True),
        extract_processes=_int(env, "WORKER_EXTRACT_PROCESSES", os.cpu_count() or 1, 1, 64),
        extract_memory_mb=_int(env, "WORKER_EXTRACT_MEMORY_MB", 1024, 128, 16384),
        extract_cpu_seconds=_int(env, "WORKER_EXTRACT_CPU_SECONDS", 60, 1, 3600),
        extract_timeout_seconds=_int(env, "WORKER_EXTRACT_TIMEOUT_SECONDS", 120, 1, 3600),
        extract_max_chars=_int(env, "WORKER_EXTRACT_MAX_CHARS", 1_000_000, 1000, 50_000_000),
        extract_max_bytes=_max_bytes(env),
        extract_zip_max_ratio=_int(env, "WORKER_EXTRACT_ZIP_MAX_RATIO", 200, 10, 10000),
        extract_tmpdir=_tmpdir(env),
    )


def _tmpdir(env: Mapping[str, str]) -> Optional[str]:
    value = env.get("WORKER_EXTRACT_TMPDIR", "").strip() or None
    if value is not None and not os.path.isdir(value):
        raise ConfigError(f"WORKER_EXTRACT_TMPDIR={value!r} is not an existing folder")
    return value
