"""`ops pause` / `ops resume`: the emergency stop without losing work.

pause: checks everything first (not already paused, the archive directory writable, every path
into the queue readable), records in the group's tags what it is about to change
(ops/pausestate.py), then suspends the processes that would launch or scale instances and sets
min and desired to 0, and writes the `ops:paused` marker last. A failure or Ctrl-C partway
undoes what was done, in reverse order. Instances drain through the group's termination
lifecycle hook (the worker finishes or releases what it holds); new notifications keep
arriving and wait in the queue.
--stop-notifications also stops every path from the bucket into the queue: the queue
configurations and EventBridge on the bucket (the live configuration is written to a file
first), the enabled EventBridge rules targeting the queue (disabled) and the running pipes
(stopped). `resume` puts back the *declared* notification and re-enables / restarts exactly
the rules and pipes the pause stopped.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from contract.declared import MAIN, Declared
from contract.outputs import MAIN_QUEUE_ARN, RAW_BUCKET, WORKER_GROUP
from ops import pausestate
from ops.aws import Aws, Deployed, OpsError, error_code
from ops.console import Console
from ops.files import ensure_writable_dir, stamp, write_synced
from ops.live import read_notification, rules_targeting
from ops.pausestate import SAVED, TAG, PauseRecord

# Everything that launches, replaces or scales instances. Terminate stays active: the group
# must be able to scale in to zero (through the drain hook).
PAUSED_PROCESSES = ["Launch", "AlarmNotification", "ScheduledActions", "AZRebalance",
                    "ReplaceUnhealthy", "HealthCheck", "InstanceRefresh"]


def group_of(aws: Aws, name: str) -> dict[str, Any]:
    groups = aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"]
    if not groups:
        raise OpsError(f"Auto Scaling group {name} not found")
    return groups[0]


def _tag(name: str, key: str, value: str) -> dict[str, Any]:
    return {"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": key, "Value": value,
            "PropagateAtLaunch": False}


def _untag(name: str, keys: list[str]) -> dict[str, Any]:
    return {"Tags": [{"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": k}
                     for k in keys]}


@dataclass(frozen=True)
class Step:
    what: str
    do: Callable[[], Any]
    undo: Callable[[], Any]


def enabled_rules(aws: Aws, queue_arn: str) -> list[str]:
    """"<bus>/<rule>" of every ENABLED rule with a target on the queue."""
    events = aws.client("events")
    out = []
    for full in rules_targeting(aws, queue_arn):
        bus, name = full.rsplit("/", 1)
        if events.describe_rule(Name=name, EventBusName=bus).get("State") == "ENABLED":
            out.append(full)
    return out


def running_pipes(aws: Aws, queue_arn: str) -> list[str]:
    pipes = aws.client("pipes")
    out, kwargs = [], {"TargetPrefix": queue_arn}
    while True:
        page = pipes.list_pipes(**kwargs)
        out += [p["Name"] for p in page.get("Pipes", []) if p.get("Target") == queue_arn
                and p.get("CurrentState") in ("RUNNING", "STARTING")]
        if not page.get("NextToken"):
            return out
        kwargs["NextToken"] = page["NextToken"]


def _rule(aws: Aws, full: str, action: str) -> None:
    bus, name = full.rsplit("/", 1)
    getattr(aws.client("events"), f"{action}_rule")(Name=name, EventBusName=bus)


def _pipe(aws: Aws, name: str, action: str) -> None:
    try:
        getattr(aws.client("pipes"), f"{action}_pipe")(Name=name)
    except ClientError as error:  # already in the wanted state
        if error_code(error) != "ConflictException":
            raise


def pause(aws: Aws, deployed: Deployed, console: Console, *, stop_notifications: bool,
          archive_dir: Path) -> int:
    name = deployed[WORKER_GROUP]
    group = group_of(aws, name)
    existing = pausestate.read(group)
    if existing and existing.complete:
        raise OpsError(f"{name} is already paused (since {existing.paused_at}); run `ops resume` "
                       "first. Nothing was changed.")
    if existing:
        raise OpsError(f"{name} carries the tags of a pause that stopped partway "
                       f"({existing.describe()}); run `ops resume` to undo it first. Nothing "
                       "was changed.")
    sizes = {key: group[key] for key in SAVED}
    suspended = tuple(sorted(p["ProcessName"] for p in group.get("SuspendedProcesses", [])))
    plan = [f"Pause {deployed.env}: group {name} from min/desired/max "
            f"{sizes['MinSize']}/{sizes['DesiredCapacity']}/{sizes['MaxSize']} to 0/0/"
            f"{sizes['MaxSize']}, suspending {', '.join(PAUSED_PROCESSES)}."]
    live, rules, pipes, archive = None, [], [], None
    if stop_notifications:
        ensure_writable_dir(archive_dir, "--archive-dir")
        bucket, queue_arn = deployed[RAW_BUCKET], deployed[MAIN_QUEUE_ARN]
        live = read_notification(aws, deployed)
        try:
            rules = enabled_rules(aws, queue_arn)
            pipes = running_pipes(aws, queue_arn)
        except ClientError as error:
            raise OpsError(f"cannot list the EventBridge rules and pipes that target the main "
                           f"queue ({error}), so not every path could be stopped. Nothing was "
                           "changed.") from None
        archive = archive_dir / f"{deployed.env}-notification-{stamp()}.json"
        if archive.exists():
            raise OpsError(f"{archive} exists; an archive is never overwritten. Nothing was "
                           "changed.")
        plan.append(f"Stop every path from the bucket {bucket} into the main queue (uploads "
                    "during the pause are NOT queued; `ops reconcile --apply` after resume "
                    "indexes them):")
        plan += [f"  - remove queue configuration #{i}: {c.describe()}"
                 for i, c in enumerate(live.configurations, 1)]
        if live.eventbridge:
            plan.append("  - turn off EventBridge on the bucket")
        plan += [f"  - disable EventBridge rule {r}" for r in rules]
        plan += [f"  - stop EventBridge pipe {p}" for p in pipes]
        if not (live.configurations or live.eventbridge or rules or pipes):
            plan.append("  - none found: nothing to stop")
        plan.append(f"  The live notification configuration is saved to {archive} first.")
    else:
        plan.append("Messages keep arriving and wait in the queue.")
    record = PauseRecord(paused_at=None, sizes=sizes, suspended_before=suspended,
                         notifications_removed=stop_notifications,
                         archive=str(archive) if archive else None,
                         rules=tuple(rules), pipes=tuple(pipes))
    intent = record.tags()  # refuses before any change if the record does not fit
    console.confirm("\n".join(plan))

    autoscaling = aws.client("autoscaling")
    if archive is not None:
        write_synced(archive, json.dumps(live.raw, indent=2, sort_keys=True) + "\n")
        console.say(f"Saved the live notification configuration to {archive}")
    steps = [Step("record the pause in the group's tags",
                  lambda: autoscaling.create_or_update_tags(
                      Tags=[_tag(name, k, v) for k, v in intent.items()]),
                  lambda: autoscaling.delete_tags(**_untag(name, list(intent))))]
    if stop_notifications:
        bucket, s3 = deployed[RAW_BUCKET], aws.client("s3")
        # Kept: only topic/Lambda configurations, which never reach the queue.
        kept = {k: v for k, v in live.raw.items()
                if k not in ("QueueConfigurations", "EventBridgeConfiguration")}
        steps.append(Step("remove the bucket's queue configurations and EventBridge",
                          lambda: s3.put_bucket_notification_configuration(
                              Bucket=bucket, NotificationConfiguration=kept),
                          lambda: s3.put_bucket_notification_configuration(
                              Bucket=bucket, NotificationConfiguration=live.raw)))
        steps += [Step(f"disable rule {r}", lambda r=r: _rule(aws, r, "disable"),
                       lambda r=r: _rule(aws, r, "enable")) for r in rules]
        steps += [Step(f"stop pipe {p}", lambda p=p: _pipe(aws, p, "stop"),
                       lambda p=p: _pipe(aws, p, "start")) for p in pipes]
    to_resume = sorted(set(PAUSED_PROCESSES) - set(suspended))
    steps.append(Step("suspend the scaling processes",
                      lambda: autoscaling.suspend_processes(
                          AutoScalingGroupName=name, ScalingProcesses=PAUSED_PROCESSES),
                      lambda: to_resume and autoscaling.resume_processes(
                          AutoScalingGroupName=name, ScalingProcesses=to_resume)))
    steps.append(Step("set min and desired to 0",
                      lambda: autoscaling.update_auto_scaling_group(
                          AutoScalingGroupName=name, MinSize=0, DesiredCapacity=0),
                      lambda: autoscaling.update_auto_scaling_group(
                          AutoScalingGroupName=name, **sizes)))
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    steps.append(Step("mark the group paused",
                      lambda: autoscaling.create_or_update_tags(Tags=[_tag(name, TAG, now)]),
                      lambda: autoscaling.delete_tags(**_untag(name, [TAG]))))
    run_all_or_nothing(steps, console, name)
    for line in _changes(record):
        console.say(line)
    console.say(f"Paused {name}. Resume with: python -m ops resume --env {deployed.env}")
    return 0


def _changes(record: PauseRecord) -> list[str]:
    out = []
    if record.notifications_removed:
        out.append("Removed the bucket's queue configurations and EventBridge setting")
    out += [f"Disabled EventBridge rule {r}" for r in record.rules]
    out += [f"Stopped EventBridge pipe {p}" for p in record.pipes]
    return out


def run_all_or_nothing(steps: list[Step], console: Console, group: str) -> None:
    """Do every step, or undo the done ones in reverse order and say what state is left.
    Ctrl-C counts as a failure: an emergency stop must not stop halfway."""
    done: list[Step] = []
    for step in steps:
        try:
            step.do()
        except (Exception, KeyboardInterrupt) as error:
            cause = "interrupted" if isinstance(error, KeyboardInterrupt) else str(error)
            console.say(f"pause failed at '{step.what}': {cause}; undoing {len(done)} step(s)")
            not_undone = []
            for previous in reversed(done):
                try:
                    previous.undo()
                except (Exception, KeyboardInterrupt) as undo_error:
                    not_undone.append(f"{previous.what} ({undo_error or 'interrupted'})")
            if not_undone:
                raise OpsError(
                    f"pause failed at '{step.what}' ({cause}) and could not undo: "
                    f"{'; '.join(not_undone)}. The group {group} keeps its ops:paused:* tags "
                    "without ops:paused: `ops diagnose` shows what is recorded and `ops resume` "
                    "undoes it.") from None
            raise OpsError(f"pause failed at '{step.what}' ({cause}); every change was undone, "
                           f"the group {group} runs as before. Nothing is paused.") from None
        done.append(step)


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


def _rule_exists(aws: Aws, full: str) -> bool:
    bus, name = full.rsplit("/", 1)
    try:
        aws.client("events").describe_rule(Name=name, EventBusName=bus)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return False
        raise
    return True


def _pipe_exists(aws: Aws, name: str) -> bool:
    try:
        aws.client("pipes").describe_pipe(Name=name)
    except ClientError as error:
        if error_code(error) in ("NotFoundException", "ResourceNotFoundException"):
            return False
        raise
    return True


def resume(aws: Aws, deployed: Deployed, console: Console, *, declared: Declared | None) -> int:
    name = deployed[WORKER_GROUP]
    group = group_of(aws, name)
    record = pausestate.read(group)
    if record is None:
        raise OpsError(f"{name} was not paused by ops (no {TAG} tag): nothing to resume")
    sizes = record.sizes
    to_resume = sorted(set(PAUSED_PROCESSES) - set(record.suspended_before))
    since = (f"paused {record.paused_at}" if record.complete
             else "a pause that stopped partway")
    plan = [f"Resume {deployed.env} ({since}): group {name} back to min/desired/max "
            f"{sizes['MinSize']}/{sizes['DesiredCapacity']}/{sizes['MaxSize']}, resuming "
            f"{', '.join(to_resume) or 'no process'}."]
    if record.notifications_removed:
        if declared is None:
            raise OpsError("the pause removed the bucket's notifications; resume needs the "
                           "templates to put back the declared one")
        plan.append(f"Put back the declared notification of {deployed[RAW_BUCKET]} "
                    "(EventBridge " + ("on" if declared.eventbridge else "off") + "; the "
                    f"pre-pause configuration is in {record.archive or 'the pause archive'}).")
    rules = [r for r in record.rules if _rule_exists(aws, r)]
    pipes = [p for p in record.pipes if _pipe_exists(aws, p)]
    plan += [f"Re-enable EventBridge rule {r} (it targets the main queue: a second path; "
             "delete it instead if it should not exist)" for r in rules]
    plan += [f"Restart EventBridge pipe {p} (it targets the main queue: a second path)"
             for p in pipes]
    plan += [f"Rule {r} was deleted during the pause: not restored" for r in record.rules
             if r not in rules]
    plan += [f"Pipe {p} was deleted during the pause: not restored" for p in record.pipes
             if p not in pipes]
    console.confirm("\n".join(plan))

    # Every step is idempotent: a resume that fails partway keeps the tags and can be re-run.
    autoscaling = aws.client("autoscaling")
    steps: list[tuple[str, Callable[[], Any]]] = []
    if record.notifications_removed:
        steps.append(("put back the declared notification",
                      lambda: aws.client("s3").put_bucket_notification_configuration(
                          Bucket=deployed[RAW_BUCKET],
                          NotificationConfiguration=declared_notification(declared, deployed))))
    steps += [(f"re-enable rule {r}", lambda r=r: _rule(aws, r, "enable")) for r in rules]
    steps += [(f"restart pipe {p}", lambda p=p: _pipe(aws, p, "start")) for p in pipes]
    steps.append(("restore the group's sizes",
                  lambda: autoscaling.update_auto_scaling_group(AutoScalingGroupName=name,
                                                                **sizes)))
    if to_resume:
        steps.append(("resume the scaling processes", lambda: autoscaling.resume_processes(
            AutoScalingGroupName=name, ScalingProcesses=to_resume)))
    steps.append(("delete the pause tags",
                  lambda: autoscaling.delete_tags(**_untag(name, pausestate.keys(group)))))
    for what, do in steps:
        try:
            do()
        except (Exception, KeyboardInterrupt) as error:
            raise OpsError(f"resume stopped at '{what}' ({error or 'interrupted'}); the pause "
                           "tags are kept: run `ops resume` again to finish.") from None
        console.say(f"done: {what}")
    console.say(f"Resumed {name}.")
    return 0
