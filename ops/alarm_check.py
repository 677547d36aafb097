"""`ops test-alarm`: the post-deploy check that alarms reach people (docs/deploy.md).

For each topic that the environment's alarms notify, one alarm (the first by name) is set to
ALARM with `SetAlarmState`, its history is read back to confirm the state change was recorded
(and, on AWS, whether the SNS action ran), and it is set back to OK. Each subscriber of that
topic must then receive two notifications naming the alarm: ALARM, then OK. The alarm's real
state returns at its next evaluation; nothing else is changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from contract.outputs import ALARM_PREFIX
from ops.aws import Aws, Deployed, OpsError
from ops.console import Console

REASON = "ops test-alarm: checking that this alarm's notifications reach its subscribers"


@dataclass(frozen=True)
class Tested:
    topic: str
    alarm: str
    recorded: bool
    action: str  # what the history says about the SNS action: "succeeded", "failed: ..." or "not shown"


def alarms_by_topic(aws: Aws, prefix: str) -> dict[str, list[str]]:
    """Topic ARN -> names of the alarms with that topic among their alarm actions."""
    cloudwatch = aws.client("cloudwatch")
    out: dict[str, list[str]] = {}
    for page in cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
        for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            for action in alarm.get("AlarmActions", []):
                if action.split(":")[2] == "sns":
                    out.setdefault(action, []).append(alarm["AlarmName"])
    return {topic: sorted(names) for topic, names in sorted(out.items())}


def _history(aws: Aws, alarm: str) -> list[dict] | None:
    """The alarm's latest history items; None where the endpoint has no alarm history (moto)."""
    try:
        return aws.client("cloudwatch").describe_alarm_history(
            AlarmName=alarm, ScanBy="TimestampDescending", MaxRecords=20)["AlarmHistoryItems"]
    except ClientError as error:
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
            return None
        raise


def _in_alarm_by_us(aws: Aws, alarm: str) -> bool:
    (found,) = aws.client("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"] or [{}]
    return found.get("StateValue") == "ALARM" and found.get("StateReason") == REASON


def _action_outcome(items: list[dict], topic: str) -> str:
    for item in items:
        if item.get("HistoryItemType") == "Action" and topic in item.get("HistorySummary", ""):
            summary = item["HistorySummary"]
            return "succeeded" if summary.startswith("Successfully") else f"failed: {summary}"
    return "not shown"


def check_alarm_delivery(aws: Aws, env: Deployed, console: Console) -> int:
    prefix = env[ALARM_PREFIX]
    topics = alarms_by_topic(aws, prefix)
    if not topics:
        raise OpsError(f"no alarm named {prefix}* notifies an SNS topic: is the Monitoring "
                       "stack deployed in this region?")
    cloudwatch = aws.client("cloudwatch")
    results = []
    for topic, names in topics.items():
        alarm = names[0]
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason=REASON)
        # Read back: the state as set, then the history (state change recorded, SNS action run).
        recorded = _in_alarm_by_us(aws, alarm)
        items = _history(aws, alarm)
        if items is not None:
            recorded = recorded and any(i.get("HistoryItemType") == "StateUpdate"
                                        and "to ALARM" in i.get("HistorySummary", "") for i in items)
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason=REASON)
        results.append(Tested(topic, alarm, recorded,
                              _action_outcome(items, topic) if items is not None else "not shown"))
    for r in results:
        console.say(f"{r.topic}: {r.alarm} set to ALARM and back to OK; state change "
                    f"{'recorded' if r.recorded else 'NOT in the history'}; SNS action {r.action}")
    console.say("Each subscriber of these topics must now receive, for the alarm named, an "
                "ALARM notification and then an OK notification. None within 5 minutes: "
                "docs/deploy.md#verify-alarm-delivery.")
    failed = [r for r in results if not r.recorded or r.action.startswith("failed")]
    return 1 if failed else 0
