"""The live state that `drift`, `diagnose` and `redrive` compare with the templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from contract.declared import DLQ, MAIN, QueueConfiguration, normalize
from contract.outputs import DLQ_ARN, DLQ_URL, MAIN_QUEUE_ARN, MAIN_QUEUE_URL, RAW_BUCKET
from ops.aws import Aws, Deployed


@dataclass(frozen=True)
class LiveNotification:
    configurations: tuple[QueueConfiguration, ...]
    others: tuple[str, ...]  # topic and Lambda configurations (the app declares none)
    eventbridge: bool
    raw: dict[str, Any]  # as S3 returned it (ResponseMetadata removed): what pause saves


@dataclass
class LiveState:
    notification: LiveNotification
    rules: list[str]  # "<bus>/<rule>" of every rule with a target on the main queue
    pipes: list[str]
    main_attributes: dict[str, str]
    dlq_attributes: dict[str, str]
    unreadable: list[str] = field(default_factory=list)  # what could not be read, and why


def queue_name_of(deployed: Deployed):
    names = {deployed[MAIN_QUEUE_ARN]: MAIN, deployed[DLQ_ARN]: DLQ}
    return lambda arn: names.get(arn, arn)


def read_notification(aws: Aws, deployed: Deployed) -> LiveNotification:
    raw = aws.client("s3").get_bucket_notification_configuration(Bucket=deployed[RAW_BUCKET])
    raw.pop("ResponseMetadata", None)
    name_of = queue_name_of(deployed)
    others = tuple(
        f"{kind} {c.get('TopicArn') or c.get('LambdaFunctionArn')}"
        for kind in ("TopicConfigurations", "LambdaFunctionConfigurations")
        for c in raw.get(kind, []))
    return LiveNotification(
        configurations=tuple(normalize(c, name_of) for c in raw.get("QueueConfigurations", [])),
        others=others,
        eventbridge="EventBridgeConfiguration" in raw,
        raw=raw,
    )


def rules_targeting(aws: Aws, queue_arn: str) -> list[str]:
    events = aws.client("events")
    buses = [b["Name"] for b in _pages(events, "list_event_buses", "EventBuses", "NextToken")]
    found = []
    for bus in buses or ["default"]:
        for name in _pages(events, "list_rule_names_by_target", "RuleNames", "NextToken",
                           TargetArn=queue_arn, EventBusName=bus):
            found.append(f"{bus}/{name}")
    return found


def pipes_targeting(aws: Aws, queue_arn: str) -> list[str]:
    pipes = _pages(aws.client("pipes"), "list_pipes", "Pipes", "NextToken", TargetPrefix=queue_arn)
    return [p["Name"] for p in pipes if p.get("Target") == queue_arn]


def queue_attributes(aws: Aws, url: str) -> dict[str, str]:
    return aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def read_live(aws: Aws, deployed: Deployed) -> LiveState:
    state = LiveState(
        notification=read_notification(aws, deployed), rules=[], pipes=[],
        main_attributes=queue_attributes(aws, deployed[MAIN_QUEUE_URL]),
        dlq_attributes=queue_attributes(aws, deployed[DLQ_URL]),
    )
    # Rules and pipes are read separately: a role without events:/pipes:List* still gets the
    # rest, and the gap is reported instead of passing for "none found".
    for what, reader, target in (("EventBridge rules", rules_targeting, state.rules),
                                 ("EventBridge pipes", pipes_targeting, state.pipes)):
        try:
            target.extend(reader(aws, deployed[MAIN_QUEUE_ARN]))
        except ClientError as error:
            state.unreadable.append(f"{what}: {error}")
    return state


def _pages(client: Any, operation: str, key: str, token_name: str, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    while True:
        page = getattr(client, operation)(**kwargs)
        items.extend(page.get(key, []))
        token = page.get(token_name)
        if not token:
            return items
        kwargs[token_name] = token
