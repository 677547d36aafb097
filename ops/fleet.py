"""`ops pause` / `ops resume`: the emergency stop without losing work.

pause: saves min/desired/max and the already-suspended processes as tags on the group, then
suspends the processes that would launch or scale instances and sets min and desired to 0.
Instances drain through the group's termination lifecycle hook (the worker finishes or releases
what it holds); new notifications keep arriving and wait in the queue.
--stop-notifications also removes the bucket's queue configurations, after writing the live
notification configuration to a local file; `resume` then puts back the *declared* one.
resume: restores exactly what the tags saved, then deletes them.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from contract.declared import MAIN, Declared
from contract.outputs import MAIN_QUEUE_ARN, RAW_BUCKET, WORKER_GROUP
from ops.aws import Aws, Deployed, OpsError
from ops.console import Console
from ops.live import read_notification

TAG = "ops:paused"  # value: when; the others hold what resume restores
SAVED = ("MinSize", "DesiredCapacity", "MaxSize")
TAG_SUSPENDED = "ops:paused:suspended-before"
TAG_NOTIFICATIONS = "ops:paused:notifications-removed"
# Everything that launches, replaces or scales instances. Terminate stays active: the group
# must be able to scale in to zero (through the drain hook).
PAUSED_PROCESSES = ["Launch", "AlarmNotification", "ScheduledActions", "AZRebalance",
                    "ReplaceUnhealthy", "HealthCheck", "InstanceRefresh"]


def _group(aws: Aws, name: str) -> dict[str, Any]:
    groups = aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"]
    if not groups:
        raise OpsError(f"Auto Scaling group {name} not found")
    return groups[0]


def _tags(group: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in group.get("Tags", [])}


def _tag(name: str, key: str, value: str) -> dict[str, Any]:
    return {"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": key, "Value": value,
            "PropagateAtLaunch": False}


def pause(aws: Aws, deployed: Deployed, console: Console, *, stop_notifications: bool,
          archive_dir: Path) -> int:
    name = deployed[WORKER_GROUP]
    group = _group(aws, name)
    tags = _tags(group)
    if TAG in tags:
        raise OpsError(f"{name} is already paused (since {tags[TAG]}); run `ops resume` first")
    suspended = sorted(p["ProcessName"] for p in group.get("SuspendedProcesses", []))
    sizes = {key: group[key] for key in SAVED}
    plan = [f"Pause {deployed.env}: group {name} from min/desired/max "
            f"{sizes['MinSize']}/{sizes['DesiredCapacity']}/{sizes['MaxSize']} to 0/0/"
            f"{sizes['MaxSize']}, suspending {', '.join(PAUSED_PROCESSES)}.",
            "Messages keep arriving and wait in the queue."]
    if stop_notifications:
        plan.append(f"Also remove the queue configurations of bucket {deployed[RAW_BUCKET]}: "
                    "uploads during the pause are NOT queued (run `ops reconcile --apply` "
                    "after resume to index them).")
    console.confirm("\n".join(plan))

    autoscaling = aws.client("autoscaling")
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    saved = [_tag(name, f"ops:paused:{key}", str(value)) for key, value in sizes.items()]
    saved.append(_tag(name, TAG_SUSPENDED, ",".join(suspended)))
    if stop_notifications:
        saved.append(_tag(name, TAG_NOTIFICATIONS, "true"))
    # Saved first, marker last: a pause interrupted here leaves nothing half-recorded.
    autoscaling.create_or_update_tags(Tags=saved)
    autoscaling.create_or_update_tags(Tags=[_tag(name, TAG, now)])
    if stop_notifications:
        _remove_queue_notifications(aws, deployed, console, archive_dir, now)
    autoscaling.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=PAUSED_PROCESSES)
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, DesiredCapacity=0)
    console.say(f"Paused {name}. Resume with: python -m ops resume --env {deployed.env}")
    return 0


def _remove_queue_notifications(aws: Aws, deployed: Deployed, console: Console,
                                archive_dir: Path, now: str) -> None:
    live = read_notification(aws, deployed)
    archive_dir.mkdir(parents=True, exist_ok=True)
    path = archive_dir / f"{deployed.env}-notification-{now.replace(':', '')}.json"
    path.write_text(json.dumps(live.raw, indent=2, sort_keys=True) + "\n")
    console.say(f"Saved the live notification configuration to {path}")
    kept = {k: v for k, v in live.raw.items() if k != "QueueConfigurations"}
    aws.client("s3").put_bucket_notification_configuration(
        Bucket=deployed[RAW_BUCKET], NotificationConfiguration=kept)
    console.say(f"Removed {len(live.configurations)} queue configuration(s) from "
                f"{deployed[RAW_BUCKET]}")
    if live.eventbridge:
        console.say("warning: EventBridge stays enabled on the bucket, so rules may still "
                    "forward uploads to the queue (see `ops drift`)")


def declared_notification(declared: Declared, deployed: Deployed) -> dict[str, Any]:
    """The template's notification with the live queue ARN: what the CDK custom resource sets."""
    arns = {MAIN: deployed[MAIN_QUEUE_ARN]}
    configurations = []
    for c in declared.notification:
        entry: dict[str, Any] = {"QueueArn": arns.get(c.queue, c.queue), "Events": list(c.events)}
        if c.filters:
            entry["Filter"] = {"Key": {"FilterRules": [{"Name": n, "Value": v}
                                                       for n, v in c.filters]}}
        configurations.append(entry)
    out: dict[str, Any] = {"QueueConfigurations": configurations}
    if declared.eventbridge:
        out["EventBridgeConfiguration"] = {}
    return out


def resume(aws: Aws, deployed: Deployed, console: Console, *, declared: Declared | None) -> int:
    name = deployed[WORKER_GROUP]
    group = _group(aws, name)
    tags = _tags(group)
    if TAG not in tags:
        raise OpsError(f"{name} was not paused by ops (no {TAG} tag): nothing to resume")
    try:
        sizes = {key: int(tags[f"ops:paused:{key}"]) for key in SAVED}
    except (KeyError, ValueError) as error:
        raise OpsError(f"{name}: the saved size tag {error} is missing or not a number; "
                       "restore min/desired/max by hand") from None
    before = {p for p in tags.get(TAG_SUSPENDED, "").split(",") if p}
    to_resume = sorted(set(PAUSED_PROCESSES) - before)
    restore_notifications = tags.get(TAG_NOTIFICATIONS) == "true"
    plan = [f"Resume {deployed.env}: group {name} back to min/desired/max "
            f"{sizes['MinSize']}/{sizes['DesiredCapacity']}/{sizes['MaxSize']}, resuming "
            f"{', '.join(to_resume) or 'no process'} (paused {tags[TAG]})."]
    if restore_notifications:
        if declared is None:
            raise OpsError("the pause removed the bucket's notifications; resume needs the "
                           "templates to put back the declared one")
        plan.append(f"Put back the declared notification of {deployed[RAW_BUCKET]}.")
    console.confirm("\n".join(plan))

    autoscaling = aws.client("autoscaling")
    if restore_notifications:
        aws.client("s3").put_bucket_notification_configuration(
            Bucket=deployed[RAW_BUCKET],
            NotificationConfiguration=declared_notification(declared, deployed))
        console.say("Put back the declared notification configuration")
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=name, **sizes)
    if to_resume:
        autoscaling.resume_processes(AutoScalingGroupName=name, ScalingProcesses=to_resume)
    autoscaling.delete_tags(Tags=[
        {"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": key}
        for key in tags if key == TAG or key.startswith(f"{TAG}:")])
    console.say(f"Resumed {name}.")
    return 0
