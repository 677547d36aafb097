"""What the synthesized templates of an environment declare, read from its cloud assembly: the one
reader of the queues, their redrive and the bucket's notification (ops compares it with the live
environment; the local pipeline builds from it).

The values `diagnose` and `drift` compare with the live environment (queue attributes, the
bucket's notification, EventBridge, rules and pipes targeting the queue, alarm thresholds)
are read from the templates, never repeated here. The resources are found through the ops
outputs (contract/outputs.py): the `MainQueueUrl` output is `{"Ref": <main queue>}`, and so on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract import ContractError
from contract.assembly import read_stacks
from contract.names import MONITORING, STATEFUL, stack_name
from contract.outputs import DLQ_URL, MAIN_QUEUE_URL, RAW_BUCKET
from contract.synth import cdk_synth

MAIN = "main queue"
DLQ = "dead-letter queue"

# SQS attributes a queue template may set, with SQS's value when the template leaves one out.
# (MaximumMessageSize is compared only when declared: SQS raised its default in 2025.)
QUEUE_ATTRIBUTE_DEFAULTS: dict[str, int | None] = {
    "VisibilityTimeout": 30,
    "MessageRetentionPeriod": 345600,
    "ReceiveMessageWaitTimeSeconds": 0,
    "DelaySeconds": 0,
    "MaximumMessageSize": None,
}


@dataclass(frozen=True)
class QueueConfiguration:
    """One S3 -> SQS notification, normalized: `queue` is MAIN, DLQ or another queue's ARN."""

    queue: str
    events: tuple[str, ...]
    filters: tuple[tuple[str, str], ...]  # (prefix|suffix, value), sorted

    def describe(self) -> str:
        rules = " ".join(f"{name} {value!r}" for name, value in self.filters) or "no filter"
        return f"{','.join(self.events)} {rules} -> {self.queue}"


@dataclass(frozen=True)
class Difference:
    what: str
    declared: Any
    live: Any

    def describe(self) -> str:
        return f"{self.what}: declared {self.declared}, live {self.live}"


@dataclass(frozen=True)
class Declared:
    env: str
    main_queue: dict[str, Any]  # CloudFormation properties of the main queue
    dead_letter_queue: dict[str, Any]
    notification: tuple[QueueConfiguration, ...]
    eventbridge: bool
    rules: tuple[str, ...]  # rules in the templates that target the main queue (the guard
    pipes: tuple[str, ...]  # refuses any at synthesis, so these are empty in practice)
    alarm_thresholds: dict[str, float]  # alarm name -> threshold


def load(env: str, assembly: Path, *, synthesize: bool = True) -> Declared:
    """The declared state of `env` from `assembly` (cdk.out), synthesized there if missing."""
    stacks = _stacks(assembly)
    if stack_name(env, STATEFUL) not in stacks:
        if not synthesize:
            raise ContractError(f"{assembly} has no templates for {env!r}: run `make synth`")
        print(f"No templates for {env} in {assembly}: synthesizing", flush=True)
        cdk_synth(assembly, environment=env)
        stacks = _stacks(assembly)
        if stack_name(env, STATEFUL) not in stacks:
            raise ContractError(f"synthesis wrote no templates for {env!r} into {assembly}")
    stateful = stacks[stack_name(env, STATEFUL)].template
    monitoring = stacks.get(stack_name(env, MONITORING))
    return parse(env, stateful, monitoring.template if monitoring else {},
                 others=[s.template for n, s in stacks.items() if n.startswith(stack_name(env, ""))])


def _stacks(assembly: Path) -> dict:
    try:
        return read_stacks(assembly)
    except FileNotFoundError:
        return {}


def _output_ref(template: dict, key: str) -> str:
    try:
        return template["Outputs"][key]["Value"]["Ref"]
    except (KeyError, TypeError):
        raise ContractError(f"the template has no output {key} referencing a resource: synthesized "
                       "from an app without the ops outputs (re-run `make synth`)") from None


@dataclass(frozen=True)
class PipelineIds:
    """Logical ids of the stateful template's main queue, DLQ and raw bucket."""

    main_queue: str
    dead_letter_queue: str
    bucket: str


def pipeline_ids(stateful: dict) -> PipelineIds:
    """Found through the ops outputs, which name them (`MainQueueUrl` is `{"Ref": <main queue>}`)."""
    return PipelineIds(_output_ref(stateful, MAIN_QUEUE_URL.key), _output_ref(stateful, DLQ_URL.key),
                       _output_ref(stateful, RAW_BUCKET.key))


def bucket_notifications(resources: dict, bucket_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The bucket's NotificationConfiguration as CDK's notification resource sets it, and as the
    bucket resource itself declares it (normally empty: a second path if not)."""
    notification: dict[str, Any] = {}
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "Custom::S3BucketNotifications" and \
                props.get("BucketName") == {"Ref": bucket_id}:
            notification = props.get("NotificationConfiguration", {})
    own = resources[bucket_id].get("Properties", {}).get("NotificationConfiguration", {})
    return notification, own


def parse(env: str, stateful: dict, monitoring: dict, others: list[dict]) -> Declared:
    resources = stateful["Resources"]
    ids = pipeline_ids(stateful)
    main_id, dlq_id = ids.main_queue, ids.dead_letter_queue
    names = {main_id: MAIN, dlq_id: DLQ}

    def queue_of(value: Any) -> str:
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return names.get(value["Fn::GetAtt"][0], json.dumps(value))
        return str(value)

    notification, bucket_notification = bucket_notifications(resources, ids.bucket)
    configurations = tuple(
        normalize(c, queue_of)
        for c in notification.get("QueueConfigurations", []) +
        bucket_notification.get("QueueConfigurations", []))
    eventbridge = any(
        n.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled", True)
        for n in (notification, bucket_notification) if "EventBridgeConfiguration" in n)

    def targeting_main(kind: str, targets: str) -> tuple[str, ...]:
        # Only the targets: a rule whose event *pattern* names the queue (the out-of-band change
        # watch matches CloudTrail events about it) delivers to an SNS topic, not to the queue.
        found = []
        for template in others:
            for logical_id, resource in template.get("Resources", {}).items():
                if resource["Type"] == kind and main_id in json.dumps(
                        resource.get("Properties", {}).get(targets)):
                    found.append(logical_id)
        return tuple(found)

    thresholds = {
        r["Properties"]["AlarmName"]: float(r["Properties"]["Threshold"])
        for r in monitoring.get("Resources", {}).values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and isinstance(r["Properties"].get("AlarmName"), str)
    }
    def queue_properties(logical_id: str) -> dict[str, Any]:
        props = dict(resources[logical_id].get("Properties", {}))
        if "RedrivePolicy" in props:  # the target as MAIN/DLQ, like a live ARN is mapped
            redrive = dict(props["RedrivePolicy"])
            redrive["deadLetterTargetArn"] = queue_of(redrive.get("deadLetterTargetArn"))
            props["RedrivePolicy"] = redrive
        return props

    return Declared(
        env=env,
        main_queue=queue_properties(main_id),
        dead_letter_queue=queue_properties(dlq_id),
        notification=configurations,
        eventbridge=eventbridge,
        rules=targeting_main("AWS::Events::Rule", "Targets"),
        pipes=targeting_main("AWS::Pipes::Pipe", "Target"),
        alarm_thresholds=thresholds,
    )


def normalize(configuration: dict, queue_of: Any) -> QueueConfiguration:
    """A QueueConfiguration (template or GetBucketNotificationConfiguration) in one form."""
    rules = configuration.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    return QueueConfiguration(
        queue=queue_of(configuration["QueueArn"]),
        events=tuple(sorted(configuration.get("Events", []))),
        filters=tuple(sorted((r["Name"].lower(), r["Value"]) for r in rules)),
    )


def queue_differences(declared: dict[str, Any], live: dict[str, str],
                      queue_name_of: Any) -> list[Difference]:
    """Declared queue properties vs GetQueueAttributes(All). `queue_name_of` maps a live ARN
    to MAIN/DLQ (the declared redrive target already is one, see `parse`)."""
    out = []
    for attribute, default in QUEUE_ATTRIBUTE_DEFAULTS.items():
        want = declared.get(attribute, default)
        if want is None:
            continue
        have = live.get(attribute)
        if have is None or int(have) != int(want):
            out.append(Difference(attribute, int(want), have))
    want_redrive = declared.get("RedrivePolicy")
    have_redrive = json.loads(live["RedrivePolicy"]) if live.get("RedrivePolicy") else None
    if want_redrive is None and have_redrive is not None:
        out.append(Difference("RedrivePolicy", None, live["RedrivePolicy"]))
    elif want_redrive is not None:
        want = (want_redrive.get("deadLetterTargetArn"), int(want_redrive["maxReceiveCount"]))
        have = None if have_redrive is None else (
            queue_name_of(have_redrive.get("deadLetterTargetArn")),
            int(have_redrive.get("maxReceiveCount", 0)))
        if want != have:
            out.append(Difference("RedrivePolicy", _redrive(want), _redrive(have)))
    return out


def _redrive(value: tuple[str, int] | None) -> str:
    return "none" if value is None else f"maxReceiveCount {value[1]} to the {value[0]}"
