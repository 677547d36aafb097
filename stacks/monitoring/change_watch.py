"""Out-of-band changes: EventBridge rules on CloudTrail management events that tell the
critical topic when anyone changes, outside a deploy, what decides how files reach the queue.

The incident began with notification paths added by hand. These rules match:

- the raw bucket's notification configuration (`PutBucketNotificationConfiguration`, and the
  older `PutBucketNotification`): a path added, narrowed or removed;
- the queues' attributes or policy (`SetQueueAttributes`, `AddPermission`, `RemovePermission`):
  visibility timeout, redrive, who may send;
- a rule target or a pipe that delivers into the main queue (`PutTargets`, `CreatePipe`,
  `UpdatePipe` naming the queue's ARN).

And what the watchers and the fleet depend on (issue #22), where a change at night would
otherwise show only when uploads arrive the next morning:

- any CloudTrail trail of the account and region stopped, deleted or narrowed (`StopLogging`,
  `DeleteTrail`, `PutEventSelectors`): without a trail these rules never fire, so each of these
  calls is the last event they see;
- the raw files' or the queues' KMS key disabled, scheduled for deletion or its policy replaced
  (`DisableKey`, `ScheduleKeyDeletion`, `PutKeyPolicy`; matched on the record's
  `resources[].ARN`, because `requestParameters.keyId` holds whatever the caller typed: key id
  or ARN);
- the raw bucket's policy written or deleted (`PutBucketPolicy`, `DeleteBucketPolicy`);
- the worker group's sizes set by hand (`UpdateAutoScalingGroup`, `SetDesiredCapacity`): max or
  desired set to 0 empties the fleet without any alarm noticing (fleet-below-minimum compares
  with the new minimum). Auto Scaling's own scaling policies change the desired capacity
  without an API call, so they are not matched; `ops pause` and `ops resume` are (they are
  hand changes too, and the on-call person should hear of a paused pipeline).

And the evidence: an object of the access-log bucket deleted by an API call
(`access-logs-deleted`). This rule reads S3's own EventBridge events ("Object Deleted", enabled
on that bucket only), not CloudTrail: S3 data events are not in a management-events trail. The
lifecycle's expiry (`reason` "Lifecycle Expiration") is not matched, and S3 writes logs without
deleting any, so every match is someone removing server access logs.

Prerequisite: a CloudTrail trail that records management events in this region (EventBridge
receives "AWS API Call via CloudTrail" events only from a trail; see README).

Deploys are excluded by who made the call, never by the user agent (any caller can set its user
agent to "cloudformation.amazonaws.com"):

- CloudFormation's own calls (queue attributes and policy) carry `sourceIPAddress`
  "cloudformation.amazonaws.com", which AWS sets for calls a service makes on your behalf;
- the bucket's notification is written by CDK's notifications handler (a Lambda function the
  Stateful stack's custom resource invokes during a deploy), so calls made with that function's
  role session (`userIdentity.arn` = `arn:<partition>:sts::<account>:assumed-role/<role>/...`)
  are excluded too. That role can be assumed only by Lambda and the function is invoked by the
  deploy; anyone who can invoke it by hand can also deploy.

The rules target an SNS topic, not the queue: the notification guard tells the two apart
(tests/infra/test_change_watch.py).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.alerts.topic_publishers import TopicTarget
from stacks.monitoring.alarm_table import (
    ACCESS_LOGS_DELETED,
    BUCKET_NOTIFICATION_CHANGED,
    BUCKET_POLICY_CHANGED,
    CHANGE_RULES,
    FLEET_SIZE_CHANGED,
    INCIDENT_RULES,
    QUEUE_CHANGED,
    QUEUE_TARGET_ADDED,
    RAW_KEY_CHANGED,
    TRAIL_CHANGED,
)
from stacks.stateful.handlers_in_vpc import notifications_handler

CLOUDTRAIL = "AWS API Call via CloudTrail"
# S3's own event for a deleted object (EventBridge enabled on the bucket); `reason` tells an API
# call ("DeleteObject") from the lifecycle ("Lifecycle Expiration").
OBJECT_DELETED = "Object Deleted"
CLOUDFORMATION = "cloudformation.amazonaws.com"

NOTIFICATION_EVENTS = ["PutBucketNotificationConfiguration", "PutBucketNotification"]
QUEUE_EVENTS = ["SetQueueAttributes", "AddPermission", "RemovePermission"]
TARGET_EVENTS = ["PutTargets", "CreatePipe", "UpdatePipe"]
TRAIL_EVENTS = ["StopLogging", "DeleteTrail", "PutEventSelectors"]
KEY_EVENTS = ["DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"]
BUCKET_POLICY_EVENTS = ["PutBucketPolicy", "DeleteBucketPolicy"]
FLEET_SIZE_EVENTS = ["UpdateAutoScalingGroup", "SetDesiredCapacity"]


def notifications_handler_role(bucket: s3.IBucket) -> iam.IRole:
    """The role of CDK's notifications handler in the bucket's stack (fails if there is none)."""
    role = notifications_handler(Stack.of(bucket)).node.try_find_child("Role")
    if not isinstance(role, iam.Role):
        raise ValueError(f"expected a Role in CDK's notifications handler of {Stack.of(bucket).node.path}")
    return role


class OutOfBandChangeWatch(Construct):
    """One rule per kind of change, all to `topic`; `rules` maps short name to rule."""

    def __init__(self, scope: Construct, construct_id: str, *, name_prefix: str, environment: str,
                 raw_bucket: s3.IBucket, access_log_bucket: s3.IBucket, main_queue: sqs.IQueue,
                 dead_letter_queue: sqs.IQueue, group_name: str, topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        not_a_deploy = {"sourceIPAddress": [{"anything-but": CLOUDFORMATION}]}
        if raw_bucket.encryption_key is None:
            raise ValueError(f"{raw_bucket.node.path}: the raw bucket has no KMS key to watch")
        raw_key_arn = raw_bucket.encryption_key.key_arn
        if main_queue.encryption_master_key is None:
            raise ValueError(f"{main_queue.node.path}: the main queue has no KMS key to watch")
        # The queues' key too: disabled, S3 can no longer deliver a notification.
        key_arns = [raw_key_arn, main_queue.encryption_master_key.key_arn]
        handler_session = stack.format_arn(
            service="sts", region="", resource="assumed-role",
            resource_name=f"{notifications_handler_role(raw_bucket).role_name}/")
        patterns = {
            BUCKET_NOTIFICATION_CHANGED: events.EventPattern(
                source=["aws.s3"], detail_type=[CLOUDTRAIL],
                detail={"eventSource": ["s3.amazonaws.com"], "eventName": NOTIFICATION_EVENTS,
                        "requestParameters": {"bucketName": [raw_bucket.bucket_name]},
                        "userIdentity": {"arn": [{"anything-but": {"prefix": handler_session}}]},
                        **not_a_deploy}),
            QUEUE_CHANGED: events.EventPattern(
                source=["aws.sqs"], detail_type=[CLOUDTRAIL],
                detail={"eventSource": ["sqs.amazonaws.com"], "eventName": QUEUE_EVENTS,
                        "requestParameters": {"queueUrl": [main_queue.queue_url,
                                                           dead_letter_queue.queue_url]},
                        **not_a_deploy}),
            # PutTargets lists its targets as objects; EventBridge matches a field inside an
            # array of objects when any element matches. Pipes name one target.
            QUEUE_TARGET_ADDED: events.EventPattern(
                source=["aws.events", "aws.pipes"], detail_type=[CLOUDTRAIL],
                detail={"eventSource": ["events.amazonaws.com", "pipes.amazonaws.com"],
                        "eventName": TARGET_EVENTS,
                        "$or": [{"requestParameters": {"targets": {"arn": [main_queue.queue_arn]}}},
                                {"requestParameters": {"target": [main_queue.queue_arn]}}],
                        **not_a_deploy}),
            # Any trail: the trail is the account's (README, "Deploy"), not this app's.
            TRAIL_CHANGED: events.EventPattern(
                source=["aws.cloudtrail"], detail_type=[CLOUDTRAIL],
                detail={"eventSource": ["cloudtrail.amazonaws.com"], "eventName": TRAIL_EVENTS,
                        **not_a_deploy}),
            RAW_KEY_CHANGED: events.EventPattern(
                source=["aws.kms"], detail_type=[CLOUDTRAIL],
                detail={"eventSource": ["kms.amazonaws.com"], "eventName": KEY_EVENTS,
                        "resources": {"ARN": key_arns}, **not_a_deploy}),
            BUCKET_POLICY_CHANGED: events.EventPattern(
                source=["aws.s3"], detail_type=[CLOUDTRAIL],
                detail={"eventSource": ["s3.amazonaws.com"], "eventName": BUCKET_POLICY_EVENTS,
                        "requestParameters": {"bucketName": [raw_bucket.bucket_name]},
                        **not_a_deploy}),
            FLEET_SIZE_CHANGED: events.EventPattern(
                source=["aws.autoscaling"], detail_type=[CLOUDTRAIL],
                detail={"eventSource": ["autoscaling.amazonaws.com"],
                        "eventName": FLEET_SIZE_EVENTS,
                        "requestParameters": {"autoScalingGroupName": [group_name]},
                        **not_a_deploy}),
            # No deploy exclusion: no deploy deletes log objects (dev's auto-delete empties the
            # bucket on `cdk destroy` after the Monitoring stack, and this rule, are gone).
            ACCESS_LOGS_DELETED: events.EventPattern(
                source=["aws.s3"], detail_type=[OBJECT_DELETED],
                detail={"bucket": {"name": [access_log_bucket.bucket_name]},
                        "reason": ["DeleteObject"]}),
        }
        # One pattern per name of CHANGE_RULES, in its order (the delivery alarm's metric ids
        # follow it).
        if tuple(patterns) != CHANGE_RULES:
            raise ValueError(f"change rule patterns {tuple(patterns)} differ from CHANGE_RULES "
                             f"{CHANGE_RULES} (stacks/monitoring/alarm_table.py)")
        self.rules: dict[str, events.Rule] = {}
        for short, pattern in patterns.items():
            # The incident's three rules share a section and start from `ops drift`, which
            # compares what they watch; the others have a section each.
            anchor, command = (("alarm-out-of-band-change", "drift") if short in INCIDENT_RULES
                               else (f"alarm-{short}", "diagnose"))
            self.rules[short] = events.Rule(
                self, short, rule_name=f"{name_prefix}-{short}", event_pattern=pattern,
                description=f"Out-of-band change ({short}) made outside a deploy; "
                            f"runbook: docs/runbook.md#{anchor}",
                targets=[TopicTarget(topic, message=events.RuleTargetInput.from_text(
                    f"{name_prefix}: {short}: {_what_and_who(pattern)}. First: "
                    f"`python -m ops {command} --env {environment}`; "
                    f"runbook: docs/runbook.md#{anchor}"))],
            )


def _what_and_who(pattern: events.EventPattern) -> str:
    """The call, the caller and the time, from a CloudTrail record or from S3's own event."""
    field = events.EventField.from_path
    if pattern.detail_type == [OBJECT_DELETED]:
        return (f"{field('$.detail.object.key')} deleted ({field('$.detail.deletion-type')}) by "
                f"{field('$.detail.requester')} from {field('$.detail.source-ip-address')} at "
                f"{field('$.time')}")
    return (f"{field('$.detail.eventName')} by {field('$.detail.userIdentity.arn')} at "
            f"{field('$.detail.eventTime')}")
