"""What the local pipeline builds, read from the synthesized dev templates (cdk.out), not repeated.

From `<env>/Stateful`: the main queue and the DLQ (visibility, long poll, retention, redrive),
the raw bucket's versioning and its single notification (events, key filter, target queue).
From `<env>/Fleet`: the worker's environment file as the launch template writes it
(`/etc/ingest-worker.env`), so the local worker runs with the environment's tuning; the values
that only exist on AWS (queue URLs, search endpoint, region, lifecycle hook) are replaced.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract import ContractError
from contract.assembly import StackTemplate, read_stacks
from contract.declared import bucket_notifications, pipeline_ids
from contract.synth import REPO, SynthError, cdk_synth, synth_command

DEFAULT_ASSEMBLY = REPO / "cdk.out"
# SQS attributes the local queues copy from the template (the rest is AWS-only: encryption,
# tags, redrive-allow policies naming account ARNs).
QUEUE_ATTRIBUTES = ("VisibilityTimeout", "ReceiveMessageWaitTimeSeconds", "MessageRetentionPeriod",
                    "DelaySeconds", "MaximumMessageSize")
# The fleet's user data writes the worker's environment between these lines
# (stacks/fleet/worker_boot.py).
WORKER_ENV_START = "cat > /etc/ingest-worker.env <<'WORKER_ENV'"
WORKER_ENV_END = "WORKER_ENV"
# Set by the local pipeline itself, or meaningless without AWS.
WORKER_ENV_REPLACED = frozenset({
    "AWS_REGION", "WORKER_QUEUE_URL", "WORKER_DLQ_URL", "WORKER_OPENSEARCH_ENDPOINT",
    "WORKER_OPENSEARCH_AUTH", "WORKER_AWS_ENDPOINT_URL", "WORKER_LIFECYCLE_HOOK_NAME",
    "WORKER_ASG_NAME", "WORKER_EXPECTED_BUCKET_OWNER"})


class TemplateError(ContractError):
    """The dev templates are missing or do not hold what the local pipeline needs."""


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    name: str | None  # the template's literal QueueName, if it sets one
    attributes: dict[str, str]  # SQS attribute name -> value, as CreateQueue takes them
    max_receive_count: int | None = None  # main queue only: its redrive to the DLQ


@dataclass(frozen=True)
class LocalSpec:
    """Everything the local pipeline creates, with the template it came from."""

    environment: str
    stateful_template: Path
    main_queue: QueueSpec
    dead_letter_queue: QueueSpec
    notification_events: tuple[str, ...]
    notification_filter: dict[str, Any]  # S3's Filter structure, as in the template
    prefix: str
    versioned: bool
    worker_environment: dict[str, str]  # from the fleet's user data, AWS-only values removed

    def describe(self) -> list[str]:
        main, dlq = self.main_queue.attributes, self.dead_letter_queue.attributes
        return [
            f"from {_relative(self.stateful_template)} (synthesized "
            f"{_age(self.stateful_template)}; `make synth` refreshes it):",
            f"  main queue: visibility {main.get('VisibilityTimeout', '30')} s, long poll "
            f"{main.get('ReceiveMessageWaitTimeSeconds', '0')} s, retention "
            f"{_days(main.get('MessageRetentionPeriod'))}, to the DLQ after "
            f"{self.main_queue.max_receive_count} receives",
            f"  DLQ: retention {_days(dlq.get('MessageRetentionPeriod'))}",
            f"  bucket: versioning {'on' if self.versioned else 'off'}; one notification "
            f"{', '.join(self.notification_events)} with prefix {self.prefix!r} to the main queue",
            "  worker: " + " ".join(f"{k}={v}" for k, v in sorted(self.worker_environment.items())),
        ]


def ensure_synthesized(assembly: Path, environment: str = "dev") -> None:
    """Synthesize `environment` into `assembly` with the CDK CLI when it is not there yet."""
    try:
        if _stack(read_stacks(assembly), environment, "Stateful"):
            return
    except (FileNotFoundError, TemplateError):
        pass
    command = synth_command(assembly, environment)
    print(f"{assembly} has no {environment} templates: synthesizing ({' '.join(command[1:])})",
          file=sys.stderr, flush=True)
    try:
        cdk_synth(assembly, environment=environment)
    except SynthError as error:
        raise TemplateError(f"{assembly} has no {environment} templates, and {error}") from None


def read_local_spec(assembly: Path, environment: str = "dev") -> LocalSpec:
    stacks = read_stacks(assembly)
    stateful = _stack(stacks, environment, "Stateful")
    if stateful is None:
        raise TemplateError(f"{assembly} has no {environment}/Stateful stack (run `make synth`)")
    fleet = _stack(stacks, environment, "Fleet")
    resources = stateful.template.get("Resources", {})
    where = f"{environment}/Stateful ({_relative(stateful.template_file)})"

    try:
        ids = pipeline_ids(stateful.template)
    except ContractError as error:
        raise TemplateError(f"{where}: {error}") from None
    main_id, dlq_id = ids.main_queue, ids.dead_letter_queue
    redrive = resources[main_id].get("Properties", {}).get("RedrivePolicy")
    if not redrive:
        raise TemplateError(f"{where}: the main queue {main_id} has no RedrivePolicy")
    if _get_att_target(redrive.get("deadLetterTargetArn"), f"{where} {main_id} RedrivePolicy") != dlq_id:
        raise TemplateError(f"{where}: the main queue's dead-letter target is not the DLQ {dlq_id}")

    configurations = [c for n in bucket_notifications(resources, ids.bucket)
                      for c in n.get("QueueConfigurations", [])]
    to_main = [c for c in configurations
               if _get_att_target(c.get("QueueArn"), f"{where} QueueConfiguration") == main_id]
    if len(to_main) != 1:
        raise TemplateError(f"{where}: expected exactly one QueueConfiguration to the main queue "
                            f"{main_id}, found {len(to_main)}")
    configuration = to_main[0]
    bucket = resources[ids.bucket]
    rules = configuration.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    prefix = next((r["Value"] for r in rules if r.get("Name", "").lower() == "prefix"), "")

    return LocalSpec(
        environment=environment,
        stateful_template=stateful.template_file,
        main_queue=_queue_spec(main_id, resources[main_id], where,
                               max_receive_count=int(redrive["maxReceiveCount"])),
        dead_letter_queue=_queue_spec(dlq_id, resources[dlq_id], where),
        notification_events=tuple(configuration.get("Events", [])),
        notification_filter=configuration.get("Filter", {}),
        prefix=prefix,
        versioned=(bucket.get("Properties", {}).get("VersioningConfiguration") or {})
        .get("Status") == "Enabled",
        worker_environment=_worker_environment(fleet) if fleet else {},
    )


def _stack(stacks: dict[str, StackTemplate], environment: str, name: str) -> StackTemplate | None:
    return next((s for s in stacks.values() if s.display_name == f"{environment}/{name}"), None)


def _get_att_target(value: Any, what: str) -> str:
    if isinstance(value, dict) and isinstance(value.get("Fn::GetAtt"), list):
        return value["Fn::GetAtt"][0]
    raise TemplateError(f"{what}: expected Fn::GetAtt [queue, Arn], found {value!r}")


def _queue_spec(logical_id: str, resource: dict[str, Any], where: str,
                max_receive_count: int | None = None) -> QueueSpec:
    properties = resource.get("Properties", {})
    attributes = {}
    for name in QUEUE_ATTRIBUTES:
        if name in properties:
            value = properties[name]
            if isinstance(value, dict | list):
                raise TemplateError(f"{where} {logical_id}: {name} is not a literal ({value!r})")
            attributes[name] = str(value)
    name = properties.get("QueueName")
    return QueueSpec(logical_id, name if isinstance(name, str) else None, attributes,
                     max_receive_count)


def _worker_environment(fleet: StackTemplate) -> dict[str, str]:
    """The literal lines of the worker's environment file in the fleet's launch template."""
    for resource in fleet.template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::EC2::LaunchTemplate":
            continue
        user_data = resource["Properties"].get("LaunchTemplateData", {}).get("UserData")
        script = _flatten(user_data.get("Fn::Base64") if isinstance(user_data, dict) else user_data)
        if WORKER_ENV_START not in script:
            continue
        block = script.split(WORKER_ENV_START, 1)[1].split("\n" + WORKER_ENV_END + "\n", 1)[0]
        env = {}
        for line in block.strip("\n").splitlines():
            name, _, value = line.partition("=")
            if name not in WORKER_ENV_REPLACED and "\0" not in value:
                env[name] = value
        return env
    raise TemplateError(f"{fleet.display_name}: no launch template writes the worker's "
                        f"environment ({WORKER_ENV_START!r} not found in the user data)")


def _flatten(value: Any) -> str:
    """A Fn::Join of strings and intrinsics as text; intrinsics become NUL (never literal)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_flatten(p) for p in parts)
    return "\0"


def _relative(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def _days(seconds: str | None) -> str:
    if seconds is None:
        return "4 days (SQS default)"
    days = int(seconds) / 86400
    return f"{days:g} days"


def _age(path: Path) -> str:
    minutes = (time.time() - Path(path).stat().st_mtime) / 60
    if minutes < 2:
        return "just now"
    return f"{minutes:.0f} min ago" if minutes < 120 else f"{minutes / 60:.0f} h ago"


def notification_configuration(spec: LocalSpec, queue_arn: str) -> dict[str, Any]:
    """S3's NotificationConfiguration: the template's single queue configuration, aimed at the
    local main queue."""
    configuration: dict[str, Any] = {"QueueArn": queue_arn, "Events": list(spec.notification_events)}
    if spec.notification_filter:
        configuration["Filter"] = json.loads(json.dumps(spec.notification_filter))
    return {"QueueConfigurations": [configuration]}
