"""Replaying incidents through the synthesized alarms: a minute-by-minute model of the pipeline's
metrics (SQS, the worker's log metrics, Auto Scaling, the search domain) and CloudTrail events,
scripted per scenario, fed to the alarm evaluator (alarm_evaluator.py) and the event-pattern
matcher (event_pattern.py) with the alarm and rule definitions read from the synthesized
templates. Tests only.

The model is deliberately small and its numbers are stated here, so that a reader can judge the
replay's claims:
- a worker instance finishes up to PER_INSTANCE_PER_MINUTE messages a minute (the benchmark
  measured about 28/s on a shared 2-core machine against moto; 10/s is taken as a cautious
  production figure); a normal message is received and finished within its minute, a long job
  takes its scripted minutes; the visibility timeout and maxReceiveCount are the environment's;
- Auto Scaling's desired capacity follows the backlog (visible / backlog_per_instance_target,
  within min and max), scales in one instance per SCALE_IN_EVERY minutes, and a new instance is
  in service (and logs worker_started) LAUNCH_MINUTES after it is desired;
- SQS publishes a queue's metrics every minute while it holds messages or had an API call in the
  last six hours (workers long-poll all the time), and not otherwise;
- the worker's log metrics have a data point only in minutes with at least one log line (each
  metric filter's default value, 0, fills the others); an idle worker logs nothing;
- a crash-looping worker is restarted by systemd every 5 s: STARTS_PER_CRASHING_INSTANCE process
  starts a minute per instance, no message received;
- a paused worker (index or bucket unavailable) receives nothing and logs consumption_paused
  once a minute per instance (the worker's contract: on pausing and every 60 s after);
- the domain's CPU follows the indexing load, JVM pressure and storage stay at steady values,
  and a red cluster is scripted (ClusterStatus.red = 1);
- a poison file is sent to the DLQ by the worker on its first receive (a new message there,
  its age counted from that send) and deleted from the main queue, with a sent_to_dlq line;
- every live worker writes one worker_alive line a minute (a stuck one writes none, and a
  worker_stalled line once it judged itself stuck: the scenario says when); an instance's worker
  writes its first line in the minute the instance is in service (real boots take longer:
  workers-not-alive waits 10 minutes for that reason);
- SQS's ApproximateAgeOfOldestMessage leaves out messages received three times or more (SQS
  moves them to the back of the queue and reports the next one);
- publication delays, in every scenario: the worker's log metrics arrive LOG_DELAY minute after
  their minute, SQS's metrics 1-3 minutes after those (Scenario.sqs_delay), and a queue that
  starts publishing again after an idle gap is SQS_RESUME_DELAY minutes late at first; the alarms
  see a sample only once it arrived (alarm_evaluator.MetricStore). Auto Scaling's and the
  domain's metrics are taken as on time;
- CloudTrail events are written in the documented CloudTrail record shape and matched against
  the rules; EventBridge receives them CLOUDTRAIL_DELAY minutes after the call (CloudTrail
  delivers to EventBridge "on a best effort basis", usually within minutes).
"""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from environments import ENVIRONMENTS
from tests.support.alarm_evaluator import (
    ALARM,
    AlarmDefinition,
    Evaluation,
    MetricStore,
    run_alarms,
)
from tests.support.event_pattern import matches
from tests.support.templates import resources_of_type
from tests.support.untraced import untraced

ACCOUNT, REGION, PARTITION = "111122223333", "eu-west-1", "aws"
PER_INSTANCE_PER_MINUTE = 600
LAUNCH_MINUTES = 4
SCALE_IN_EVERY = 5
STARTS_PER_CRASHING_INSTANCE = 10
LOG_DELAY = 1            # minutes: the worker's log metrics
SQS_RESUME_DELAY = 15    # minutes: a queue's first metrics after it was idle (not publishing)
CLOUDTRAIL_DELAY = 4     # minutes from an API call to its event on EventBridge
S3_EVENT_DELAY = 1       # minutes from an object deleted to S3's own event on EventBridge
SQS_IDLE_MINUTES = 6 * 60
WARM_UP = 26 * 60        # the longest evaluation range: 24 + 2 hourly periods
CLOUDFORMATION = "cloudformation.amazonaws.com"


# --- concrete values for the synthesized templates' references -----------------------------

class TemplateValues:
    """Turns Ref / GetAtt / GetStackOutput / Join in one environment's templates into the
    concrete strings AWS would give them (deterministic names for a fictitious account)."""

    def __init__(self, synthesized, env: str) -> None:
        self.templates = synthesized.templates[env]
        self.stack_ids = synthesized.stack_ids(env)
        self.stack_names = {v: k for k, v in self.stack_ids.items()}

    def logical_id(self, stack: str, path_suffix: str) -> str:
        """The resource of `stack` whose construct path ends with `path_suffix`."""
        found = [lid for lid, r in self.templates[stack]["Resources"].items()
                 if r.get("Metadata", {}).get("aws:cdk:path", "").endswith(path_suffix)]
        assert len(found) == 1, (stack, path_suffix, found)
        return found[0]

    def _name(self, stack: str, lid: str) -> str:
        return f"{self.stack_names[stack]}-{lid}"[:64]

    def attribute(self, stack: str, lid: str, attr: str | None) -> str:
        kind = self.templates[stack]["Resources"][lid]["Type"]
        name = self._name(stack, lid)
        if kind == "AWS::SQS::Queue":
            return {None: f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
                    "QueueName": name, "Arn": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}"}[attr]
        if kind == "AWS::S3::Bucket":
            return {None: name.lower(), "Arn": f"arn:{PARTITION}:s3:::{name.lower()}"}[attr]
        if kind == "AWS::IAM::Role":
            return {None: name, "Arn": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"}[attr]
        if kind == "AWS::OpenSearchService::Domain":
            domain = name.lower()[-28:].lstrip("-")
            return {None: domain,
                    "Arn": f"arn:{PARTITION}:es:{REGION}:{ACCOUNT}:domain/{domain}"}[attr]
        if kind == "AWS::KMS::Key":
            arn = f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{name}"
            return {None: name, "Arn": arn, "KeyId": name}[attr]
        if kind == "AWS::SNS::Topic":
            arn = f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}"
            return {None: arn, "TopicArn": arn, "TopicName": name}[attr]
        return {None: name, "Arn": f"arn:{PARTITION}:other:{REGION}:{ACCOUNT}:{name}"}[attr]

    def resolve(self, value, stack: str = "Monitoring"):
        if isinstance(value, (str, int, float)):
            return value
        if isinstance(value, list):
            return [self.resolve(v, stack) for v in value]
        (fn, arg), = value.items() if len(value) == 1 else ((None, None),)
        if fn == "Ref":
            pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": PARTITION}
            return pseudo[arg] if arg in pseudo else self.attribute(stack, arg, None)
        if fn == "Fn::GetAtt":
            lid, attr = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.attribute(stack, lid, attr)
        if fn == "Fn::GetStackOutput":
            producer = self.stack_ids[arg["StackName"]]
            output = self.templates[producer]["Outputs"][arg["OutputName"]]["Value"]
            return self.resolve(output, producer)
        if fn == "Fn::Join":
            sep, parts = arg
            return sep.join(str(self.resolve(p, stack)) for p in parts)
        return {k: self.resolve(v, stack) for k, v in value.items()}


# --- the pipeline model --------------------------------------------------------------------

@dataclass
class Conditions:
    """What the scenario sets for one minute."""

    uploads: int = 0
    copies: int = 1                 # messages per upload (3 in the incident)
    long_jobs: int = 0              # uploads this minute that are long jobs
    poison: int = 0                 # uploads this minute that are poison files
    worker: str = "ok"              # ok | no_delete | paused | crash_loop | lost (no instance
                                    # in service, every launch fails) | ops_paused (`ops pause`:
                                    # min and desired 0, instances drained)
    cluster_red: bool = False
    writes_blocked: bool = False    # ClusterIndexWritesBlocked; the worker pauses on it
    stuck: int = 0                  # instances whose worker is stuck: no receive, no alive line
    stalled_lines: int = 0          # worker_stalled lines this minute (stuck workers that say so)
    # Events EventBridge receives: CloudTrail records of API calls, and S3's own events of the
    # access-log bucket (object_deleted).
    cloudtrail: list[dict] = field(default_factory=list)


@dataclass
class Cohort:
    enqueued: int
    count: int
    receives: int = 0
    job_minutes: int = 0
    poison: bool = False


class PipelineModel:
    """Queue, DLQ, workers, Auto Scaling and domain of one environment, minute by minute."""

    def __init__(self, env: str, names: dict[str, str],
                 sqs_delay: Callable[[int], int] | None = None) -> None:
        config = ENVIRONMENTS[env]
        self.sqs_delay = sqs_delay
        self.log_delay = LOG_DELAY if sqs_delay else 0
        self.config, self.names = config, names
        self.visibility_minutes = math.ceil(config.queue.visibility_timeout_seconds / 60)
        self.visible: deque[Cohort] = deque()
        self.in_flight: list[tuple[int, int, Cohort]] = []   # (done at, visible again at, cohort)
        self.dlq: list[Cohort] = []
        self.desired = self.in_service = self.min_size = config.fleet.min_capacity
        self.launches: list[int] = []                          # minutes new instances come up
        self.last_scale_in = -SCALE_IN_EVERY
        self.last_activity = {"main": -1, "dlq": -1}
        self.published = {"main": -math.inf, "dlq": -math.inf}   # last minute with metrics
        self.resumed = {"main": -math.inf, "dlq": -math.inf}     # first minute after a gap
        self.store = MetricStore()

    def _sqs(self, queue: str, minute: int, metrics: dict[str, float], holds: bool) -> None:
        if holds or minute - self.last_activity[queue] <= SQS_IDLE_MINUTES:
            if self.published[queue] < minute - 1:
                self.resumed[queue] = minute
            self.published[queue] = minute
            delay = self.sqs_delay(minute) if self.sqs_delay else 0
            if self.sqs_delay and minute < self.resumed[queue] + SQS_RESUME_DELAY:
                delay = max(delay, self.resumed[queue] + SQS_RESUME_DELAY - minute)
            for name, value in metrics.items():
                self.store.put(("AWS/SQS", name, frozenset({("QueueName", self.names[queue])})),
                               minute, value, delay)

    def step(self, minute: int, c: Conditions) -> None:
        cfg = self.config
        sent = c.uploads * c.copies
        if sent:
            normal = (c.uploads - c.long_jobs - c.poison) * c.copies
            if normal:
                self.visible.append(Cohort(minute, normal))
            if c.poison:
                self.visible.append(Cohort(minute, c.poison * c.copies, poison=True))
            if c.long_jobs:
                self.visible.append(Cohort(minute, c.long_jobs * c.copies, job_minutes=10))
        self.min_size = 0 if c.worker == "ops_paused" else self.config.fleet.min_capacity
        if c.worker in ("lost", "ops_paused"):
            self.in_service = 0
            self.launches.clear()
        # Instances: launches come into service; the worker starts on each.
        started = sum(1 for t in self.launches if t == minute)
        self.in_service += started
        self.launches = [t for t in self.launches if t > minute]
        log = {"processed": 0, "deleted_attempt_failures": 0, "abandoned": 0, "paused": 0,
               "starts": started, "failed": 0, "dlq_sends": 0, "stalled": c.stalled_lines,
               "alive": 0}
        received = deleted = 0

        # Jobs finishing this minute, and messages whose visibility expired.
        still = []
        for done, back, cohort in self.in_flight:
            if done <= minute and c.worker != "no_delete":
                deleted += cohort.count
                log["processed"] += cohort.count
            elif done == minute:   # processed, every delete attempt fails, given up
                log["processed"] += cohort.count
                log["deleted_attempt_failures"] += 3 * cohort.count
                log["abandoned"] += cohort.count
                still.append((math.inf, back, cohort))
            elif back <= minute:
                self.visible.append(cohort)
            else:
                still.append((done, back, cohort))
        self.in_flight = [(d, b, co) for d, b, co in still if b > minute]
        self.visible.extend(co for _, b, co in still if b <= minute)

        # Receiving.
        if c.worker == "paused" or c.writes_blocked:
            log["paused"] = self.in_service
        if c.worker == "crash_loop":
            log["starts"] += STARTS_PER_CRASHING_INSTANCE * self.in_service
        consuming = max(0, self.in_service - c.stuck)
        capacity = (consuming * PER_INSTANCE_PER_MINUTE
                    if c.worker in ("ok", "no_delete") and not c.writes_blocked else 0)
        if self.in_service and c.worker != "crash_loop":
            self.last_activity["main"] = minute          # long polling
        while capacity and self.visible:
            cohort = self.visible[0]
            if cohort.receives >= cfg.queue.max_receive_count:
                self.visible.popleft()                   # SQS's redrive on the next receive
                self.dlq.append(cohort)
                self.last_activity["dlq"] = minute
                continue
            take = min(capacity, cohort.count)
            capacity -= take
            received += take
            if take == cohort.count:
                self.visible.popleft()
                got = cohort
            else:
                cohort.count -= take
                got = Cohort(cohort.enqueued, take, cohort.receives, cohort.job_minutes)
            got.receives += 1
            if got.poison:      # the worker sends it to the DLQ, then deletes it
                self.dlq.append(Cohort(minute, got.count))
                self.last_activity["dlq"] = minute
                log["dlq_sends"] += got.count
                deleted += got.count
                continue
            done = minute + got.job_minutes
            back = minute + self.visibility_minutes if c.worker == "no_delete" else math.inf
            if done == minute and c.worker != "no_delete":
                deleted += got.count
                log["processed"] += got.count
            elif done == minute:
                log["processed"] += got.count
                log["deleted_attempt_failures"] += 3 * got.count
                log["abandoned"] += got.count
                self.in_flight.append((math.inf, back, got))
            else:
                self.in_flight.append((done, back, got))

        # Metrics at the end of the minute.
        waiting = sum(co.count for co in self.visible)
        flying = sum(co.count for _, _, co in self.in_flight)
        # SQS leaves messages received three times or more out of the age (docs/alarms.md).
        oldest = min([co.enqueued for co in self.visible if co.receives < 3] +
                     [co.enqueued for _, _, co in self.in_flight if co.receives < 3], default=None)
        self._sqs("main", minute, {
            "NumberOfMessagesSent": sent, "NumberOfMessagesReceived": received,
            "NumberOfMessagesDeleted": deleted, "ApproximateNumberOfMessagesVisible": waiting,
            "ApproximateNumberOfMessagesNotVisible": flying,
            "ApproximateAgeOfOldestMessage": 0 if oldest is None else (minute - oldest + 1) * 60,
        }, holds=bool(waiting or flying))
        dlq_depth = sum(co.count for co in self.dlq)
        dlq_oldest = min((co.enqueued for co in self.dlq), default=None)
        self._sqs("dlq", minute, {
            "ApproximateNumberOfMessagesVisible": dlq_depth,
            "ApproximateAgeOfOldestMessage": 0 if dlq_oldest is None else (minute - dlq_oldest + 1) * 60,
        }, holds=bool(dlq_depth))
        self._fleet(minute, waiting)
        # One line per live worker, counted against the group's in-service count at the end of
        # the minute (an instance the scaling removed this minute wrote its last line before).
        log["alive"] = 0 if c.worker == "crash_loop" else max(0, self.in_service - c.stuck)
        self._log_metrics(minute, log)
        self._domain(minute, c, log["processed"])

    def _log_metrics(self, minute: int, log: dict[str, int]) -> None:
        if not any(log.values()):
            return                                       # no log line at all: no data point
        ns = f"FileSearch/Ingestion/{self.config.name}"
        for metric, value in (("MessagesProcessed", log["processed"]),
                              ("MessagesFailed", log["failed"]), ("SentToDlq", log["dlq_sends"]),
                              ("DeleteFailures", log["deleted_attempt_failures"]),
                              ("DeletesAbandoned", log["abandoned"]),
                              ("ConsumptionPaused", log["paused"]),
                              ("WorkerStarts", log["starts"]),
                              ("WorkersAlive", log["alive"]), ("WorkerStalled", log["stalled"])):
            self.store.put((ns, metric, frozenset()), minute, value, self.log_delay)

    def _fleet(self, minute: int, waiting: int) -> None:
        fleet = self.config.fleet
        needed = min(fleet.max_capacity, max(self.min_size,
                                             math.ceil(waiting / fleet.backlog_per_instance_target)))
        if needed > self.desired:
            self.launches += [minute + LAUNCH_MINUTES] * (needed - self.desired)
            self.desired = needed
        elif needed < self.desired and minute - self.last_scale_in >= SCALE_IN_EVERY:
            self.desired -= 1
            self.last_scale_in = minute
            if self.launches:
                self.launches.pop()
            else:
                self.in_service -= 1
        group = frozenset({("AutoScalingGroupName", f"{self.config.name_prefix}-fleet-workers")})
        self.store.put(("AWS/AutoScaling", "GroupDesiredCapacity", group), minute, self.desired)
        self.store.put(("AWS/AutoScaling", "GroupInServiceInstances", group), minute, self.in_service)
        self.store.put(("AWS/AutoScaling", "GroupMinSize", group), minute, self.min_size)

    def _domain(self, minute: int, c: Conditions, indexed: int) -> None:
        search = self.config.search
        dims = frozenset({("DomainName", self.names["domain"]), ("ClientId", ACCOUNT)})
        full = self.config.fleet.max_capacity * PER_INSTANCE_PER_MINUTE
        values = {
            "ClusterStatus.red": float(c.cluster_red), "ClusterStatus.yellow": 0.0,
            "ClusterIndexWritesBlocked": float(c.writes_blocked),
            "FreeStorageSpace": search.volume_size_gib * 1024 * 0.6,
            "JVMMemoryPressure": 65.0, "CPUUtilization": 10 + 75 * min(1.0, indexed / full),
            "MasterReachableFromNode": 1.0, "AutomatedSnapshotFailure": 0.0,
            "ThreadpoolWriteRejected": 0.0,
        }
        for metric, value in values.items():
            self.store.put(("AWS/ES", metric, dims), minute, value)


# --- scenarios -----------------------------------------------------------------------------

Script = Callable[[int, dict[str, str]], Conditions]


def sqs_one_to_three_minutes_late(minute: int) -> int:
    """SQS's metrics 2, 3, 2, 1, 2, ... minutes after the worker's log metrics (which are
    LOG_DELAY late): a queue's minutes arrive in order, each at most a minute later than the
    one before."""
    return LOG_DELAY + 1 + (1, 2, 1, 0)[minute % 4]


@dataclass(frozen=True)
class Scenario:
    name: str
    minutes: int
    script: Script
    onsets: tuple[tuple[int, str], ...] = ()   # (minute, what fails); none = a normal run
    # The expectation of a failure: (alarm or rule, minutes after the onset) that must reach
    # the critical topic by then. None only with `longer_window`: nothing can page for it.
    must_page: tuple[str, int] | None = None
    # A failure whose shortest honest detection is longer than 5 minutes: why, and what covers it.
    longer_window: str | None = None
    # Minutes each minute's SQS metrics arrive late (None: no delays, to show what delays do).
    sqs_delay: Callable[[int], int] | None = sqs_one_to_three_minutes_late
    # Expectations, written with the scenario: alarms that must not notify at all, and the
    # most warnings (notifications to the warning topic) it may raise.
    must_not_fire: tuple[str, ...] = ()
    max_warnings: int | None = None
    must_warn: tuple[str, ...] = ()
    # Change rules that report the operator's own deliberate change (ops pause and resume are
    # hand changes to the group's sizes): the only critical notifications a normal run may send.
    announced: tuple[str, ...] = ()


def sustained_uploads(minute: int) -> int:
    """A heavy day: 3,000 files a minute from 08:00 to 18:00 (half the prod fleet's capacity
    at max_capacity, six times its capacity at min_capacity), nothing at night."""
    hour = (minute % (24 * 60)) // 60
    return 3000 if 8 <= hour < 18 else 0


def business_uploads(minute: int) -> int:
    """A business day from minute 0 = 00:00: nothing at night, a steady flow from 08:00 to
    19:00 with a burst every hour (3 minutes of 1,000 files) and a lunch lull."""
    hour, m = divmod(minute % (24 * 60), 60)
    if not 8 <= hour < 19:
        return 0
    if hour == 12:
        return 2 if m % 10 == 0 else 0
    return 1000 if m < 3 else 40


def user_call(names: dict[str, str], service: str, event_name: str, **params) -> dict:
    """A CloudTrail record (EventBridge's "AWS API Call via CloudTrail" event) made by a person;
    `params` are its requestParameters."""
    return {"source": f"aws.{service}", "detail-type": "AWS API Call via CloudTrail", "detail": {
        "eventSource": f"{service}.amazonaws.com", "eventName": event_name,
        "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.15.0",
        "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice",
                         "sessionContext": {"sessionIssuer": {
                             "arn": f"arn:aws:iam::{ACCOUNT}:role/Admin"}}},
        "requestParameters": params}}


def object_deleted(bucket: str, key: str, reason: str = "DeleteObject",
                   deletion_type: str = "Delete Marker Created") -> dict:
    """S3's own EventBridge event for a deleted object (EventBridge enabled on `bucket`); `reason`
    is "DeleteObject" for an API call and "Lifecycle Expiration" for the lifecycle."""
    return {"source": "aws.s3", "detail-type": "Object Deleted", "detail": {
        "version": "0", "bucket": {"name": bucket},
        "object": {"key": key, "version-id": "3HL4kqtJvjVBH40Nrjfkd", "sequencer": "617f08299329d189"},
        "request-id": "N4N7GDK58NMKJ12R", "requester": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice",
        "source-ip-address": "203.0.113.7", "reason": reason, "deletion-type": deletion_type}}


def deploy_calls(names: dict[str, str]) -> list[dict]:
    """What a deploy writes: CloudFormation's own queue changes (sourceIPAddress is the
    service) and the notifications handler's bucket write (its Lambda role session)."""
    cfn = user_call(names, "sqs", "SetQueueAttributes", queueUrl=names["main_url"])
    cfn["detail"].update(sourceIPAddress=CLOUDFORMATION, userAgent=CLOUDFORMATION)
    cfn["detail"]["userIdentity"] = {
        "type": "AssumedRole", "invokedBy": CLOUDFORMATION,
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/"
               f"cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-{REGION}/AWSCloudFormation"}
    handler = user_call(names, "s3", "PutBucketNotificationConfiguration", bucketName=names["bucket"])
    handler["detail"].update(sourceIPAddress="198.51.100.20",
                             userAgent="Boto3/1.34 Python/3.12 exec-env/AWS_Lambda_python3.12")
    handler["detail"]["userIdentity"] = {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{names['handler_role']}/BucketNotificationsHandler"}
    return [cfn, handler]


def scenarios(names: dict[str, str]) -> list[Scenario]:
    day = 24 * 60

    def incident(t, n):
        c = Conditions(uploads=business_uploads(t))
        if t == 9 * 60:     # 09:00: two more paths added by hand, as in the incident
            c.cloudtrail = [
                user_call(n, "s3", "PutBucketNotificationConfiguration", bucketName=n["bucket"]),
                user_call(n, "events", "PutTargets", rule="forward-uploads",
                          targets=[{"id": "1", "arn": n["main_arn"]}])]
        if t >= 9 * 60:
            c.copies = 3
        if t >= 10 * 60:    # 10:00: the worker stops deleting what it processed
            c.worker = "no_delete"
        return c

    def index_outage(t, n):
        down = 10 * 60 <= t < 10 * 60 + 30
        return Conditions(uploads=business_uploads(t), cluster_red=down,
                          worker="paused" if down else "ok")

    def crash_loop(t, n):
        return Conditions(uploads=business_uploads(t),
                          worker="crash_loop" if t >= 10 * 60 else "ok")

    def removed(with_trail: bool):
        def script(t, n):
            c = Conditions(uploads=business_uploads(t) if t < 14 * 60 else 0)
            if t == 14 * 60 and with_trail:
                c.cloudtrail = [user_call(n, "s3", "PutBucketNotificationConfiguration",
                                          bucketName=n["bucket"])]
            return c
        return script

    def night_sync(t, n):
        # 02:00: DataSync copies 50,000 files in 20 minutes; the deploy that preceded it
        # wrote the notification and queue attributes (must not alert).
        c = Conditions(uploads=2500 if 2 * 60 <= t < 2 * 60 + 20 else 0)
        if t == 60:
            c.cloudtrail = deploy_calls(n)
        return c

    def normal_day(t, n):
        # With one legitimate 600 s job at 10:30 (the longest a worker may take).
        return Conditions(uploads=business_uploads(t), long_jobs=1 if t == 10 * 60 + 30 else 0)

    def sustained(t, n):
        return Conditions(uploads=sustained_uploads(t))

    def fleet_lost(t, n):
        return Conditions(uploads=business_uploads(t), worker="lost" if t >= 2 * 60 else "ok")

    def paused_by_ops(t, n):
        c = Conditions(uploads=business_uploads(t),
                       worker="ops_paused" if 2 * 60 <= t < 3 * 60 else "ok")
        if t in (2 * 60, 3 * 60):   # ops pause sets min and desired to 0; ops resume restores
            sizes = {"minSize": 0, "desiredCapacity": 0} if t == 2 * 60 else {
                "minSize": 2, "maxSize": 10, "desiredCapacity": 2}
            c.cloudtrail = [user_call(n, "autoscaling", "UpdateAutoScalingGroup",
                                      autoScalingGroupName=n["group"], **sizes)]
        return c

    def poison_day(t, n):
        uploads = business_uploads(t)
        return Conditions(uploads=uploads, poison=round(uploads * 3 / 100))

    def poison_surge(t, n):
        uploads = business_uploads(t)
        share = 50 if 14 * 60 <= t < 15 * 60 else 3
        return Conditions(uploads=uploads, poison=round(uploads * share / 100))

    def poison_at_night(t, n):
        return Conditions(uploads=1 if t == 3 * 60 else business_uploads(t),
                          poison=1 if t == 3 * 60 else 0)

    def sizes_to_zero(t, n):
        # 02:00: someone sets the group's max (and so min and desired) to 0 by hand.
        c = Conditions(uploads=business_uploads(t), worker="ops_paused" if t >= 2 * 60 else "ok")
        if t == 2 * 60:
            c.cloudtrail = [user_call(n, "autoscaling", "UpdateAutoScalingGroup",
                                      autoScalingGroupName=n["group"], minSize=0, maxSize=0,
                                      desiredCapacity=0)]
        return c

    def one_stuck(says_so: bool):
        def script(t, n):
            stuck = 10 * 60 <= t < 11 * 60
            # liveness.py: no receive for 2 minutes, then one worker_stalled line a minute.
            return Conditions(uploads=business_uploads(t), stuck=int(stuck),
                              stalled_lines=int(says_so and 10 * 60 + 2 <= t < 11 * 60))
        return script

    def duplicated_without_trail(t, n):
        # A second path added at 09:00 with no trail recording it: no CloudTrail event.
        return Conditions(uploads=business_uploads(t), copies=2 if t >= 9 * 60 else 1)

    def trail_stopped(t, n):
        c = Conditions(uploads=business_uploads(t), copies=2 if t >= 9 * 60 else 1)
        if t == 60:
            c.cloudtrail = [user_call(n, "cloudtrail", "StopLogging", name="management-events")]
        return c

    def key_disabled(t, n):
        # 01:00, queue empty: S3 refuses every upload from then on (SSE-KMS), nothing is queued.
        c = Conditions(uploads=0 if t >= 60 else business_uploads(t))
        if t == 60:
            event = user_call(n, "kms", "DisableKey", keyId=n["key_arn"].rsplit("/", 1)[-1])
            event["detail"]["resources"] = [{"accountId": ACCOUNT, "type": "AWS::KMS::Key",
                                             "ARN": n["key_arn"]}]
            c.cloudtrail = [event]
        return c

    def access_logs_deleted(t, n):
        # 03:00: someone deletes a day of the raw bucket's access logs (the evidence).
        c = Conditions(uploads=business_uploads(t))
        if t == 3 * 60:
            c.cloudtrail = [object_deleted(n["access_logs"], f"raw-bucket/2026-12-05-{h:02}-00-00-AB")
                            for h in range(24)]
        return c

    def writes_blocked(t, n):
        return Conditions(uploads=business_uploads(t),
                          writes_blocked=10 * 60 <= t < 10 * 60 + 25)

    trail_note = ("only the daily `ops drift` (.github/workflows/ops-daily.yml, 00:00 UTC) sees "
                  "a second path without CloudTrail: up to a day; nothing else differs from a "
                  "busy day (twice the messages, each file indexed once)")
    return [
        Scenario("incident: every upload notified 3 times", day, incident,
                 ((9 * 60, "two notification paths added by hand"),),
                 must_page=("bucket-notification-changed", 5)),
        Scenario("incident: then a worker that receives and never deletes", day, incident,
                 ((10 * 60, "deletes fail"),), must_page=("processed-not-deleted", 5)),
        Scenario("index outage of 30 minutes", day, index_outage, ((10 * 60, "cluster red"),),
                 must_page=("search-cluster-red", 1)),
        Scenario("index writes blocked for 25 minutes", day, writes_blocked,
                 ((10 * 60, "writes blocked"),), must_page=("search-writes-blocked", 5)),
        Scenario("worker crash loop", day, crash_loop, ((10 * 60, "worker crashes on start"),),
                 must_page=("worker-crash-loop", 5)),
        Scenario("notification silently removed", day, removed(True),
                 ((14 * 60, "notification removed"),),
                 must_page=("bucket-notification-changed", 5)),
        Scenario("notification removed, no CloudTrail trail", 14 * 60 + day + 120, removed(False),
                 ((14 * 60, "notification removed"),),
                 must_page=("no-incoming-messages", 24 * 60 + 60),
                 longer_window="without the trail only the absence of messages shows it: "
                               "no-incoming-messages needs a whole day without a message, "
                               "because a business day is quiet for 13 hours"),
        Scenario("DataSync night sync: 50,000 files in 20 minutes", 6 * 60, night_sync,
                 max_warnings=1),
        Scenario("normal business day with bursts", day, normal_day,
                 must_not_fire=("queue-depth", "worker-error-rate", "processed-not-deleted"),
                 max_warnings=0),
        Scenario("normal day under sustained load: 3,000 files a minute for 10 hours", day,
                 sustained, must_not_fire=("queue-depth",), max_warnings=1),
        Scenario("fleet lost at 02:00: every instance unhealthy, launches fail", day, fleet_lost,
                 ((2 * 60, "no instance in service"),), must_page=("fleet-below-minimum", 5)),
        Scenario("group max and desired set to 0 by hand at 02:00", day, sizes_to_zero,
                 ((2 * 60, "group sizes set to 0"),), must_page=("fleet-size-changed", 5)),
        Scenario("one worker stuck (alive, not consuming) from 10:00 for an hour", day,
                 one_stuck(True), ((10 * 60, "a worker stops receiving"),),
                 must_page=("worker-stalled", 5)),
        Scenario("one worker frozen (no line at all) from 10:00 for an hour", day,
                 one_stuck(False), ((10 * 60, "a worker process freezes"),),
                 must_page=("workers-not-alive", 12),
                 longer_window="a frozen worker writes nothing, so only the count of live "
                               "workers against instances in service shows it, and a new "
                               "instance is in service minutes before its worker's first line: "
                               "workers-not-alive waits 10 minutes (+ the log delay)"),
        Scenario("notifications duplicated at 09:00, no CloudTrail trail", day,
                 duplicated_without_trail, ((9 * 60, "a second notification path"),),
                 longer_window=trail_note),
        Scenario("trail stopped at 01:00, then notifications duplicated at 09:00", day,
                 trail_stopped, ((60, "the trail stops logging"),),
                 must_page=("trail-changed", 5)),
        Scenario("raw files' KMS key disabled at 01:00, queue empty", day, key_disabled,
                 ((60, "key disabled"),), must_page=("raw-key-changed", 5)),
        Scenario("access logs deleted by hand at 03:00", day, access_logs_deleted,
                 ((3 * 60, "access-log objects deleted"),), must_page=("access-logs-deleted", 5)),
        Scenario("ops pause from 02:00 to 03:00 (night, queue empty)", day, paused_by_ops,
                 must_not_fire=("fleet-below-minimum",), announced=("fleet-size-changed",)),
        Scenario("3 % of files are poison all day", day, poison_day,
                 must_not_fire=("dlq-filling",), must_warn=("dlq-not-empty",)),
        Scenario("3 % poison all day, then half the files poison from 14:00", day, poison_surge,
                 ((14 * 60, "poison surge"),), must_page=("dlq-filling", 5)),
        Scenario("one poison file at 03:00", day, poison_at_night,
                 must_not_fire=("worker-error-rate",)),
    ]


# --- running them --------------------------------------------------------------------------

@dataclass
class Notification:
    minute: int
    topic: str
    source: str          # alarm short name or rule short name


@dataclass
class Replay:
    scenario: Scenario
    notifications: list[Notification]

    def after(self, minute: int, topic: str) -> list[Notification]:
        return [n for n in self.notifications if n.minute >= minute and n.topic == topic]


class Environment:
    """One environment's synthesized alarms and rules, with the names the model needs."""

    def __init__(self, synthesized, env: str) -> None:
        self.env = env
        self._warm_ups: dict[tuple, WarmUp] = {}
        values = TemplateValues(synthesized, env)
        monitoring = synthesized.templates[env]["Monitoring"]
        alerts = {values.attribute("Alerts", lid, None): name for lid, name in (
            (values.logical_id("Alerts", "/Topics/Critical/Resource"), "critical"),
            (values.logical_id("Alerts", "/Topics/Warning/Resource"), "warning"))}
        prefix = ENVIRONMENTS[env].name_prefix + "-"
        self.alarms: dict[str, AlarmDefinition] = {}
        self.alarm_topics: dict[str, str] = {}
        for resource in resources_of_type(monitoring, "AWS::CloudWatch::Alarm").values():
            props = resource["Properties"]
            alarm = AlarmDefinition.from_properties(props, values.resolve)
            (topic,) = {alerts[values.resolve(a)] for a in props["AlarmActions"]}
            short = alarm.name.removeprefix(prefix)
            self.alarms[short], self.alarm_topics[short] = alarm, topic
        self.rules = {}
        for resource in resources_of_type(monitoring, "AWS::Events::Rule").values():
            props = resource["Properties"]
            (target,) = props["Targets"]
            self.rules[props["Name"].removeprefix(prefix)] = (
                values.resolve(props["EventPattern"]), alerts[values.resolve(target["Arn"])])
        main = values.logical_id("Stateful", "/IngestQueues/MainQueue/Resource")
        dlq = values.logical_id("Stateful", "/IngestQueues/DeadLetterQueue/Resource")
        bucket = values.logical_id("Stateful", "/RawFiles/Bucket/Resource")
        access_logs = values.logical_id("Stateful", "/RawFiles/AccessLogs/Resource")
        handler = values.logical_id(
            "Stateful", "/BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Role/Resource")
        domain = values.logical_id("Search", "/Domain/Resource")
        key = values.logical_id("Stateful", "/RawFiles/Key/Resource")
        queue_key = values.logical_id("Stateful", "/IngestQueues/Key/Resource")
        (group,) = resources_of_type(synthesized.templates[env]["Fleet"],
                                     "AWS::AutoScaling::AutoScalingGroup").values()
        self.names = {
            "main": values.attribute("Stateful", main, "QueueName"),
            "main_url": values.attribute("Stateful", main, None),
            "main_arn": values.attribute("Stateful", main, "Arn"),
            "dlq": values.attribute("Stateful", dlq, "QueueName"),
            "bucket": values.attribute("Stateful", bucket, None),
            "access_logs": values.attribute("Stateful", access_logs, None),
            "handler_role": values.attribute("Stateful", handler, None),
            "domain": values.attribute("Search", domain, None),
            "key_arn": values.attribute("Stateful", key, "Arn"),
            "queue_key_arn": values.attribute("Stateful", queue_key, "Arn"),
            "group": values.resolve(group["Properties"]["AutoScalingGroupName"], "Fleet"),
        }

    def replay(self, scenario: Scenario,
               alarms: dict[str, AlarmDefinition] | None = None) -> Replay:
        """Minute 0 is 00:00 of the scenario's day; the day before is a normal business day
        (WARM_UP minutes, longer than any alarm's evaluation range), as real alarms have
        history. Only notifications from minute 0 on are the scenario's. `alarms` replaces the
        synthesized definitions (to show what another threshold would have done)."""
        with untraced():  # pure test-support arithmetic: tests/support/untraced.py
            return self._replay(scenario, self.alarms if alarms is None else alarms)

    def _replay(self, scenario: Scenario, alarms: dict[str, AlarmDefinition]) -> Replay:
        warm = self._warm_up(alarms, scenario.sqs_delay)
        # Each scenario continues from a copy of the shared day before.
        model, evaluation = copy.deepcopy(warm.model), copy.deepcopy(warm.evaluation)
        model.sqs_delay = scenario.sqs_delay
        notes = []
        for minute in range(0, scenario.minutes):
            conditions = scenario.script(minute, self.names)
            model.step(minute, conditions)
            for event in conditions.cloudtrail:
                delay = S3_EVENT_DELAY if event["source"] == "aws.s3" and \
                    event["detail-type"] != "AWS API Call via CloudTrail" else CLOUDTRAIL_DELAY
                for short, (pattern, topic) in self.rules.items():
                    if matches(pattern, event):
                        notes.append(Notification(minute + delay, topic, short))
        for change in run_alarms(alarms.values(), model.store, range(0, scenario.minutes),
                                 evaluation):
            if change.state == ALARM:
                short = change.alarm.removeprefix(ENVIRONMENTS[self.env].name_prefix + "-")
                notes.append(Notification(change.minute, self.alarm_topics[short], short))
        return Replay(scenario, sorted(notes, key=lambda n: (n.minute, n.topic, n.source)))

    def _warm_up(self, alarms: dict[str, AlarmDefinition],
                 sqs_delay: Callable[[int], int] | None) -> WarmUp:
        """The normal business day before minute 0, modelled and evaluated once per set of
        alarms and SQS delays (the same for most scenarios: it is the costly half of a replay).
        Nothing a scenario does reaches it: its steps write samples of minutes >= 0 only, and a
        data point of the day before reads samples of that day only."""
        delays = None if sqs_delay is None else tuple(map(sqs_delay, range(-WARM_UP, 0)))
        key = (id(alarms), delays)
        cached = self._warm_ups.get(key)
        if cached is not None and cached.alarms is alarms:
            return cached
        model = PipelineModel(self.env, self.names, sqs_delay)
        for minute in range(-WARM_UP, 0):
            conditions = Conditions(uploads=business_uploads(minute))
            assert not conditions.cloudtrail, "the day before has no out-of-band change"
            model.step(minute, conditions)
        evaluation = Evaluation()
        run_alarms(alarms.values(), model.store, range(-WARM_UP, 0), evaluation)
        self._warm_ups[key] = WarmUp(alarms, model, evaluation)
        return self._warm_ups[key]


@dataclass
class WarmUp:
    """The day before a scenario: the model and the alarms' evaluation at its end. `alarms` is
    kept so that the cache key's id() cannot be reused by another dict."""

    alarms: dict[str, AlarmDefinition]
    model: PipelineModel
    evaluation: Evaluation


def clock(minute: int) -> str:
    day, rest = divmod(minute, 24 * 60)
    return f"{'+' + str(day) + 'd ' if day else ''}{rest // 60:02d}:{rest % 60:02d}"


def expectation(scenario: Scenario) -> str:
    """The scenario's written expectation, in words for the docs table."""
    if scenario.must_page:
        source, by = scenario.must_page
        return f"`{source}` by +{by}"
    if scenario.onsets:
        return "no page possible (below)"
    limit = "" if scenario.max_warnings is None else f", ≤ {scenario.max_warnings} warning(s)"
    told = "".join(f", `{a}` reports the change" for a in scenario.announced)
    return f"nobody paged{told}{limit}"


def results_table(replays: list[Replay]) -> str:
    """The markdown table docs/alarms.md carries between its replay markers: what each run did,
    next to what its scenario must do (the tests check the one against the other)."""
    rows = ["| Scenario | Onset | Must | First critical (minutes after onset) | Other critical "
            "| Warnings |",
            "|---|---|---|---|---|---|"]
    for r in replays:
        onset = r.scenario.onsets[0][0] if r.scenario.onsets else 0
        critical = r.after(onset, "critical")
        first = (f"`{critical[0].source}` at {clock(critical[0].minute)} "
                 f"(+{critical[0].minute - onset})" if critical else "none")
        if not r.scenario.onsets:
            critical = [n for n in critical if n.source not in r.scenario.announced]
            first = "none (nobody paged)" if not critical else first
        others = sorted({n.source for n in critical[1:]} - {critical[0].source} if critical else set())
        warnings = sorted({n.source for n in r.after(onset, "warning")})
        what = (f"{clock(onset)} {r.scenario.onsets[0][1]}" if r.scenario.onsets else "-")
        rows.append(f"| {r.scenario.name} | {what} | {expectation(r.scenario)} | {first} | "
                    f"{', '.join(f'`{o}`' for o in others) or '-'} | "
                    f"{', '.join(f'`{w}`' for w in warnings) or '-'} |")
    return "\n".join(rows)
