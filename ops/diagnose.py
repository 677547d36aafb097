"""`ops diagnose`: the live environment against the templates, one line per check.

Each check says OK, WARN or FAIL, the evidence, and the runbook step (docs/runbook.md). It
covers the incident runbook's five checks (backlog growing, DLQ, notification configuration,
EventBridge rules and pipes, worker log errors) and the queue attributes, the fleet, the
alarms and the search domain. Nothing is changed; reading the DLQ's reasons receives and at
once releases a sample of its messages (see ops/messages.py).
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from config import AlarmThresholds
from contract import ContractError
from contract.declared import DLQ, MAIN, Declared, queue_differences
from contract.outputs import (
    ALARM_PREFIX,
    DLQ_ARN,
    DLQ_URL,
    MAIN_QUEUE_ARN,
    SEARCH_DOMAIN,
    WORKER_GROUP,
    WORKER_LOG_GROUP,
)
from ops import pausestate
from ops.aws import Aws, Deployed, OpsError, error_code
from ops.live import LiveState, queue_name_of, read_live
from ops.messages import depth_of, summarize_reasons
from ops.pausestate import TAG as PAUSED_TAG

RUNBOOK = "docs/runbook.md"
OK, WARN, FAIL = "OK", "WARN", "FAIL"
LOG_EVENTS = ("delete_failed", "sent_to_dlq", "message_failed", "consumption_paused")
# At least this many receives before the share not deleted means anything (the alarm's rule).
MIN_RECEIVED = 10


@dataclass
class Check:
    name: str
    status: str
    summary: str
    runbook: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"{self.status:<4} {self.name}: {self.summary} [{RUNBOOK}#{self.runbook}]"


@dataclass
class Context:
    aws: Aws
    deployed: Deployed
    declared: Declared
    live: LiveState
    window: int  # minutes
    sample: int
    now: datetime.datetime
    alarms: AlarmThresholds  # the environment's config: what the DLQ inflow alarm compares
    metrics: dict[str, list[tuple[datetime.datetime, float]]] = field(default_factory=dict)

    def threshold(self, alarm: str) -> float:
        name = f"{self.deployed[ALARM_PREFIX]}{alarm}"
        if name not in self.declared.alarm_thresholds:
            raise OpsError(f"the templates declare no alarm {name}")
        return self.declared.alarm_thresholds[name]


def diagnose(aws: Aws, deployed: Deployed, declared: Declared, *, window: int,
             sample: int, thresholds: AlarmThresholds) -> list[Check]:
    context = Context(aws=aws, deployed=deployed, declared=declared,
                      live=read_live(aws, deployed), window=window, sample=sample,
                      now=datetime.datetime.now(datetime.UTC), alarms=thresholds)
    context.metrics = _queue_metrics(context)
    checks = []
    for check in (backlog, received_not_deleted, dlq, notification,
                  eventbridge_targets, worker_log, queue_attributes, fleet, alarms, search_domain):
        try:
            checks.append(check(context))
        except (ClientError, ContractError) as error:  # one unreadable part must not hide the rest
            name = check.__name__.replace("_", "-")
            checks.append(Check(name, FAIL, f"could not be read: {error}", f"check-{name}"))
    return checks


def render(checks: list[Check], env: str) -> str:
    counts = Counter(c.status for c in checks)
    lines = [c.line() for c in checks]
    lines.append(f"{env}: {counts[FAIL]} FAIL, {counts[WARN]} WARN, {counts[OK]} OK")
    return "\n".join(lines)


def as_json(checks: list[Check], env: str) -> str:
    status = FAIL if any(c.status == FAIL for c in checks) else (
        WARN if any(c.status == WARN for c in checks) else OK)
    return json.dumps({"env": env, "status": status, "checks": [
        {**asdict(c), "runbook": f"{RUNBOOK}#{c.runbook}"} for c in checks]}, indent=2,
        default=str)


# -- metrics -------------------------------------------------------------------------------

def _queue_metrics(context: Context) -> dict[str, list[tuple[datetime.datetime, float]]]:
    """Per-minute history of the queue metrics over the window (plus a margin)."""
    main = context.deployed[MAIN_QUEUE_ARN].rsplit(":", 1)[-1]
    dlq = context.deployed[DLQ_ARN].rsplit(":", 1)[-1]
    queries = {
        "main_visible": (main, "ApproximateNumberOfMessagesVisible", "Maximum"),
        "main_age": (main, "ApproximateAgeOfOldestMessage", "Maximum"),
        "dlq_visible": (dlq, "ApproximateNumberOfMessagesVisible", "Maximum"),
        "dlq_age": (dlq, "ApproximateAgeOfOldestMessage", "Maximum"),
        "received": (main, "NumberOfMessagesReceived", "Sum"),
        "deleted": (main, "NumberOfMessagesDeleted", "Sum"),
        "sent": (main, "NumberOfMessagesSent", "Sum"),
    }
    # Two of the DLQ inflow alarm's windows: its DIFF compares the last one with the one before.
    minutes = max(context.window, 2 * context.alarms.dlq_inflow_window_minutes)
    result = context.aws.client("cloudwatch").get_metric_data(
        MetricDataQueries=[{"Id": key, "MetricStat": {"Metric": {
            "Namespace": "AWS/SQS", "MetricName": metric,
            "Dimensions": [{"Name": "QueueName", "Value": queue}]},
            "Period": 60, "Stat": stat}} for key, (queue, metric, stat) in queries.items()],
        StartTime=context.now - datetime.timedelta(minutes=minutes + 5),
        EndTime=context.now)
    out: dict[str, list[tuple[datetime.datetime, float]]] = {key: [] for key in queries}
    for series in result["MetricDataResults"]:
        out[series["Id"]] = sorted(zip(series["Timestamps"], series["Values"], strict=True))
    return out


def _at(series: list[tuple[datetime.datetime, float]], when: datetime.datetime) -> float | None:
    """The datapoint closest to `when` (None without data)."""
    if not series:
        return None
    return min(series, key=lambda point: abs((point[0] - when).total_seconds()))[1]


def _latest(series: list[tuple[datetime.datetime, float]]) -> float | None:
    return series[-1][1] if series else None


def _within(series: list[tuple[datetime.datetime, float]], since: datetime.datetime) -> float:
    return sum(value for when, value in series if when >= since)


def _peak(series: list[tuple[datetime.datetime, float]], since: datetime.datetime,
          until: datetime.datetime) -> float:
    """The Maximum over [since, until), 0 without data (the alarm's FILL(dlq, 0))."""
    return max((value for when, value in series if since <= when < until), default=0.0)


def dlq_inflow(c: Context, depth: int) -> tuple[float, float, float]:
    """(inflow, sent, expected) as the dlq-filling alarm reckons them: the rise of the DLQ's
    visible Maximum from the window before to the last window (the live depth counts as part of
    the last window: the metric lags), the messages sent to the main queue in the last window,
    and the expected poison share of them."""
    span = datetime.timedelta(minutes=c.alarms.dlq_inflow_window_minutes)
    start = c.now - span
    last = max(_peak(c.metrics["dlq_visible"], start, c.now + span), float(depth))
    before = _peak(c.metrics["dlq_visible"], start - span, start)
    sent = _within(c.metrics["sent"], start)
    return last - before, sent, c.alarms.dlq_expected_poison_percent / 100 * sent


# -- checks --------------------------------------------------------------------------------

def backlog(c: Context) -> Check:
    visible = int(c.live.main_attributes.get("ApproximateNumberOfMessages", 0))
    in_flight = int(c.live.main_attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
    then = c.now - datetime.timedelta(minutes=c.window)
    visible_then = _at(c.metrics["main_visible"], then)
    age_now, age_then = _latest(c.metrics["main_age"]), _at(c.metrics["main_age"], then)
    limit = c.threshold("oldest-message-age")
    evidence = {"visible": visible, "in_flight": in_flight, "visible_then": visible_then,
                "age_now_s": age_now, "age_then_s": age_then, "window_min": c.window,
                "oldest_message_limit_s": limit}
    text = (f"{visible} visible, {in_flight} in flight; {c.window} min ago "
            f"{_fmt(visible_then)} visible; oldest message {_fmt(age_now)} s "
            f"(was {_fmt(age_then)} s, limit {limit:g} s)")
    growing = visible_then is not None and visible > visible_then
    aging = age_now is not None and age_then is not None and age_now > age_then
    if growing and aging and age_now > limit:
        return Check("backlog", FAIL, f"backlog growing and getting older: {text}", "check-backlog",
                     evidence)
    old = age_now is not None and age_now > limit
    if growing or old:
        what = ("backlog growing and old" if growing and old
                else "backlog growing" if growing else "oldest message over the limit")
        return Check("backlog", WARN, f"{what}: {text}", "check-backlog", evidence)
    return Check("backlog", OK, text, "check-backlog", evidence)


def received_not_deleted(c: Context) -> Check:
    since = c.now - datetime.timedelta(minutes=c.window)
    received = _within(c.metrics["received"], since)
    deleted = _within(c.metrics["deleted"], since)
    limit = c.threshold("received-not-deleted")
    share = (received - deleted) / received if received else 0.0
    evidence = {"received": received, "deleted": deleted, "share_not_deleted": round(share, 3),
                "limit": limit, "window_min": c.window}
    text = (f"{received:g} received, {deleted:g} deleted in {c.window} min "
            f"({share:.0%} not deleted, limit {limit:.0%})")
    if received >= MIN_RECEIVED and share > limit:
        return Check("received-not-deleted", FAIL,
                     f"messages are received again and again and not deleted: {text}",
                     "check-received-not-deleted", evidence)
    return Check("received-not-deleted", OK, text, "check-received-not-deleted", evidence)


def dlq(c: Context) -> Check:
    summary = summarize_reasons(c.aws.client("sqs"), c.deployed[DLQ_URL], limit=c.sample)
    then = _at(c.metrics["dlq_visible"], c.now - datetime.timedelta(minutes=c.window))
    # The oldest message read, else (nothing read: --sample 0) CloudWatch's latest figure.
    age = _latest(c.metrics["dlq_age"])
    if summary.oldest_sent_ms:
        age = int(c.now.timestamp() - summary.oldest_sent_ms / 1000)
    evidence = {**summary.as_dict(), "visible_then": then, "oldest_age_s": age}
    reasons = ", ".join(f"{r} x{n}" for r, n in summary.reasons.most_common()) or "none"
    oldest = "oldest unknown" if age is None else f"oldest {_fmt(age)} s"
    read = (f"reasons in {summary.sampled} read: {reasons}" if summary.sampled or c.sample
            else "reasons not read (--sample 0)")
    inflow, sent, expected = dlq_inflow(c, summary.depth)
    minimum, minutes = c.alarms.dlq_inflow_min_messages, c.alarms.dlq_inflow_window_minutes
    evidence.update(inflow=inflow, sent=sent, expected_poison=round(expected, 1),
                    inflow_min=minimum, inflow_window_min=minutes)
    text = (f"{summary.depth} message(s) ({c.window} min ago {_fmt(then)}), {oldest}; "
            f"inflow {inflow:+g} in {minutes} min vs {sent:g} sent to the main queue "
            f"(pages at {minimum}+ and over {c.alarms.dlq_expected_poison_percent:g} %); {read}")
    if summary.release_errors:
        return Check("dlq", FAIL, f"{text}; could not release: {summary.release_errors}",
                     "check-dlq", evidence)
    # What the dlq-filling alarm means: inflow, not level (a steady poison rate only warns).
    if inflow >= minimum and inflow > expected:
        return Check("dlq", FAIL, f"DLQ filling: {text}", "check-dlq", evidence)
    if summary.depth >= c.threshold("dlq-not-empty"):
        return Check("dlq", WARN, f"DLQ not empty: {text}", "check-dlq", evidence)
    return Check("dlq", OK, text, "check-dlq", evidence)


def notification(c: Context) -> Check:
    live = c.live.notification
    to_main = [q for q in live.configurations if q.queue == MAIN]
    problems = []
    if len(to_main) != 1:
        problems.append(f"{len(to_main)} queue configurations to the main queue (declared "
                        f"{len(c.declared.notification)})")
    elif Counter(to_main) != Counter(c.declared.notification):
        problems.append(f"the queue configuration differs: live {to_main[0].describe()}, "
                        f"declared {'; '.join(q.describe() for q in c.declared.notification)}")
    others = [q.describe() for q in live.configurations if q.queue != MAIN] + list(live.others)
    if others:
        problems.append(f"other configurations: {'; '.join(others)}")
    if live.eventbridge and not c.declared.eventbridge:
        problems.append("EventBridge is enabled on the bucket (declared off)")
    evidence = {"queue_configurations": [q.describe() for q in live.configurations],
                "eventbridge": live.eventbridge, "others": list(live.others)}
    listing = "; ".join(f"#{i} {q.describe()}" for i, q in enumerate(live.configurations, 1))
    if problems:
        return Check("notification", FAIL, f"{'; '.join(problems)}. Live: {listing or 'none'}",
                     "check-notification", evidence)
    return Check("notification", OK, f"one queue configuration as declared ({listing}); "
                 "EventBridge off", "check-notification", evidence)


def eventbridge_targets(c: Context) -> Check:
    found = [f"rule {r}" for r in c.live.rules] + [f"pipe {p}" for p in c.live.pipes]
    evidence = {"rules": c.live.rules, "pipes": c.live.pipes, "unreadable": c.live.unreadable}
    if found:
        return Check("eventbridge-targets", FAIL,
                     f"EventBridge forwards to the main queue: {', '.join(found)}",
                     "check-eventbridge-targets", evidence)
    if c.live.unreadable:
        return Check("eventbridge-targets", WARN, f"could not read: {'; '.join(c.live.unreadable)}",
                     "check-eventbridge-targets", evidence)
    return Check("eventbridge-targets", OK, "no EventBridge rule or pipe targets the main queue",
                 "check-eventbridge-targets", evidence)


def worker_log(c: Context) -> Check:
    logs = c.aws.client("logs")
    # On AWS the pattern narrows the scan; the events are also counted from their JSON here,
    # so an emulator that ignores patterns (moto) counts the same.
    pattern = "{ " + " || ".join(f'$.event = "{e}"' for e in LOG_EVENTS) + " }"
    start = int((c.now - datetime.timedelta(minutes=c.window)).timestamp() * 1000)
    counts: Counter = Counter()
    kwargs: dict[str, Any] = {"logGroupName": c.deployed[WORKER_LOG_GROUP], "startTime": start,
                              "filterPattern": pattern}
    try:
        while True:
            page = logs.filter_log_events(**kwargs)
            for event in page.get("events", []):
                try:
                    name = json.loads(event["message"]).get("event")
                except (ValueError, AttributeError):
                    continue
                if name in LOG_EVENTS:
                    counts[name] += 1
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return Check("worker-log", FAIL, f"log group {c.deployed[WORKER_LOG_GROUP]} not found",
                         "check-worker-log")
        raise
    evidence = {e: counts[e] for e in LOG_EVENTS} | {"window_min": c.window}
    text = ", ".join(f"{e} {counts[e]}" for e in LOG_EVENTS) + f" in {c.window} min"
    if counts["delete_failed"]:
        return Check("worker-log", FAIL, f"'Failed to delete message' in the worker log: {text}",
                     "check-worker-log", evidence)
    if sum(counts.values()):
        return Check("worker-log", WARN, text, "check-worker-log", evidence)
    return Check("worker-log", OK, text, "check-worker-log", evidence)


def queue_attributes(c: Context) -> Check:
    name_of = queue_name_of(c.deployed)
    found = [f"{queue} {d.describe()}" for queue, props, live in (
        (MAIN, c.declared.main_queue, c.live.main_attributes),
        (DLQ, c.declared.dead_letter_queue, c.live.dlq_attributes))
        for d in queue_differences(props, live, name_of)]
    evidence = {"differences": found, "main_visibility_s": c.live.main_attributes.get(
        "VisibilityTimeout"), "main_redrive": c.live.main_attributes.get("RedrivePolicy")}
    if found:
        return Check("queue-attributes", FAIL, "; ".join(found), "check-queue-attributes", evidence)
    return Check("queue-attributes", OK,
                 f"as declared (visibility {c.live.main_attributes.get('VisibilityTimeout')} s, "
                 "redrive, retention, wait)", "check-queue-attributes", evidence)


def fleet(c: Context) -> Check:
    name = c.deployed[WORKER_GROUP]
    groups = c.aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"]
    if not groups:
        return Check("fleet", FAIL, f"Auto Scaling group {name} not found", "check-fleet")
    group = groups[0]
    states = Counter(i["LifecycleState"] for i in group.get("Instances", []))
    suspended = sorted(p["ProcessName"] for p in group.get("SuspendedProcesses", []))
    tags = {t["Key"]: t["Value"] for t in group.get("Tags", [])}
    desired, in_service = group["DesiredCapacity"], states.get("InService", 0)
    evidence = {"min": group["MinSize"], "desired": desired, "max": group["MaxSize"],
                "in_service": in_service, "lifecycle_states": dict(states),
                "suspended": suspended, "paused_by_ops": tags.get(PAUSED_TAG)}
    text = (f"desired {desired} (min {group['MinSize']}, max {group['MaxSize']}), "
            f"in service {in_service}")
    problems = []
    record = pausestate.read(group)
    if record is not None and not record.complete:
        evidence["pause_stopped_partway"] = record.describe()
        return Check("fleet", FAIL, f"{text}; a pause stopped partway and left these changes "
                     f"recorded: {record.describe()}; run `ops resume` to undo them",
                     "check-fleet", evidence)
    if record is not None:
        problems.append(f"paused by ops since {record.paused_at}: {record.describe()} "
                        "(ops resume)")
    if suspended:
        problems.append(f"suspended processes: {', '.join(suspended)}")
    others = {s: n for s, n in states.items() if s != "InService"}
    if others:
        problems.append("instances in " + ", ".join(f"{s} x{n}" for s, n in sorted(others.items())))
    if in_service < desired:
        problems.append(f"{desired - in_service} fewer in service than desired")
    waiting = depth_of(c.live.main_attributes)
    if desired == 0 and waiting and group["MaxSize"] > 0 and PAUSED_TAG not in tags:
        problems.append(f"no worker while {waiting} message(s) wait")
    if problems:
        return Check("fleet", WARN, f"{text}; {'; '.join(problems)}", "check-fleet", evidence)
    return Check("fleet", OK, text, "check-fleet", evidence)


def alarms(c: Context) -> Check:
    cloudwatch = c.aws.client("cloudwatch")
    prefix = c.deployed[ALARM_PREFIX]
    firing = []
    kwargs: dict[str, Any] = {"AlarmNamePrefix": prefix, "StateValue": "ALARM"}
    while True:
        page = cloudwatch.describe_alarms(**kwargs)
        # The state is checked here too: moto ignores StateValue when a prefix is given.
        firing += [a["AlarmName"] for a in page.get("MetricAlarms", []) + page.get(
            "CompositeAlarms", []) if a.get("StateValue") == "ALARM"]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    evidence = {"in_alarm": firing}
    if firing:
        steps = ", ".join(f"{n} ({RUNBOOK}#alarm-{n[len(prefix):]})" for n in firing)
        return Check("alarms", FAIL, f"{len(firing)} in ALARM: {steps}", "check-alarms", evidence)
    return Check("alarms", OK, f"no alarm named {prefix}* in ALARM", "check-alarms", evidence)


def search_domain(c: Context) -> Check:
    name = c.deployed[SEARCH_DOMAIN]
    status = c.aws.client("opensearch").describe_domain(DomainName=name)["DomainStatus"]
    evidence = {k: status.get(k) for k in ("Created", "Deleted", "Processing",
                                           "UpgradeProcessing", "DomainProcessingStatus",
                                           "EngineVersion")}
    if status.get("Deleted") or not status.get("Created", True) or \
            status.get("DomainProcessingStatus") == "Isolated":
        return Check("search-domain", FAIL, f"domain {name} is not usable: {evidence}",
                     "check-search-domain", evidence)
    if status.get("Processing") or status.get("UpgradeProcessing"):
        return Check("search-domain", WARN, f"domain {name} is applying a change "
                     f"(Processing={status.get('Processing')}, "
                     f"UpgradeProcessing={status.get('UpgradeProcessing')})",
                     "check-search-domain", evidence)
    return Check("search-domain", OK, f"domain {name} active, not processing",
                 "check-search-domain", evidence)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"
