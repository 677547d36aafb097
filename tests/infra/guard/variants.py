"""The project's StatefulStack with one notification mistake each, for the guard's synthesis tests.

A module of its own (not a test module) so that the CLI test's generated app can import it.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs

from stacks.stateful.stack import StatefulStack

# What the observability work adds: a rule for S3 *API* calls (who changed the notification
# configuration), recorded by CloudTrail, to an alert topic.
CLOUDTRAIL_NOTIFICATION_CHANGES = events.EventPattern(
    source=["aws.s3"],
    detail_type=["AWS API Call via CloudTrail"],
    detail={"eventSource": ["s3.amazonaws.com"],
            "eventName": ["PutBucketNotificationConfiguration", "PutBucketNotification"]},
)


def second_queue_configuration(stateful: StatefulStack) -> None:
    stateful.raw_files.bucket.add_event_notification(
        s3.EventType.OBJECT_CREATED_PUT,
        s3n.SqsDestination(stateful.queues.main_queue),
        s3.NotificationKeyFilter(prefix="raw-files/archive/"),
    )


def eventbridge_on_the_bucket(stateful: StatefulStack) -> None:
    stateful.raw_files.bucket.enable_event_bridge_notification()


def eventbridge_rule_in_another_stack(stateful: StatefulStack) -> None:
    other = Stack(stateful.node.scope, "Forwarder")
    events.CfnRule(other, "ForwardUploads",
                   event_pattern={"source": ["aws.s3"], "detail-type": ["Object Created"]},
                   targets=[events.CfnRule.TargetProperty(id="q", arn=stateful.queues.main_queue.queue_arn)])
    # A rule only sees S3 events when the bucket sends them to EventBridge: both mistakes together.
    stateful.raw_files.bucket.enable_event_bridge_notification()


def eventbridge_pipe(stateful: StatefulStack) -> None:
    staging = sqs.Queue(stateful, "StagingQueue", enforce_ssl=True)
    pipes.CfnPipe(stateful, "Pipe", role_arn="arn:aws:iam::123456789012:role/pipe",
                  source=staging.queue_arn, target=stateful.queues.main_queue.queue_arn)


def sns_fan_out(stateful: StatefulStack) -> None:
    topic = sns.Topic(stateful, "Uploads", enforce_ssl=True)
    stateful.raw_files.bucket.add_event_notification(
        s3.EventType.OBJECT_CREATED, s3n.SnsDestination(topic),
        s3.NotificationKeyFilter(prefix="raw-files/other/"))
    topic.add_subscription(subscriptions.SqsSubscription(stateful.queues.main_queue))


def raw_l1_bucket_outside_the_project_constructs(stateful: StatefulStack) -> None:
    other = Stack(stateful.node.scope, "Legacy")
    queue = sqs.CfnQueue(other, "LegacyQueue")
    config = s3.CfnBucket.QueueConfigurationProperty
    s3.CfnBucket(other, "LegacyBucket", notification_configuration=s3.CfnBucket.NotificationConfigurationProperty(
        queue_configurations=[config(event="s3:ObjectCreated:*", queue=queue.attr_arn),
                              config(event="s3:ObjectCreated:Put", queue=queue.attr_arn)]))


def cloudtrail_rule_to_the_queue(stateful: StatefulStack) -> None:
    events.Rule(stateful, "NotificationChanges", event_pattern=CLOUDTRAIL_NOTIFICATION_CHANGES,
                targets=[targets.SqsQueue(stateful.queues.main_queue)])


def cloudtrail_rule_to_a_topic(stateful: StatefulStack) -> None:
    """Accepted: S3 events, but the target is an alert topic, not the queue."""
    topic = sns.Topic(stateful, "NotificationChangeAlerts", enforce_ssl=True)
    events.Rule(stateful, "NotificationChanges", event_pattern=CLOUDTRAIL_NOTIFICATION_CHANGES,
                targets=[targets.SnsTopic(topic)])


# variant name -> (mistake, a phrase the guard's message must contain)
REFUSED = {
    "second-queue-config": (second_queue_configuration, "QueueConfiguration #2"),
    "eventbridge-bucket": (eventbridge_on_the_bucket, "EventBridge enabled on bucket"),
    "eventbridge-rule": (eventbridge_rule_in_another_stack, "EventBridge rule"),
    "pipe": (eventbridge_pipe, "EventBridge pipe"),
    "sns-fan-out": (sns_fan_out, "SNS topic"),
    "raw-l1": (raw_l1_bucket_outside_the_project_constructs, "QueueConfiguration #2"),
    "cloudtrail-rule-to-queue": (cloudtrail_rule_to_the_queue, "EventBridge rule"),
}

ACCEPTED = {
    "cloudtrail-rule-to-topic": cloudtrail_rule_to_a_topic,
}
