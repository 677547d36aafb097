"""Alarms on the alerting itself: a notification SNS could not deliver, a change alert that
EventBridge could not publish.

Each reports on the *other* severity's topic where it can: a topic whose deliveries fail may be
the one that cannot reach anyone, and a change rule that cannot publish to the critical topic
cannot tell the critical topic so. One entry of DELIVERY_ALARMS per alarm (the future alarm
table's rows, #19).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.monitoring.alarm_factory import AlarmFactory

FIVE_MINUTES = Duration.minutes(5)


@dataclass(frozen=True)
class DeliveryAlarm:
    short: str
    what: str
    first: str


CRITICAL_DELIVERY = DeliveryAlarm(
    "critical-topic-delivery-failed",
    "The critical topic failed to deliver a notification to a subscriber (SNS "
    "NumberOfNotificationsFailed): a page may not have reached anyone.",
    "Open the critical topic's subscriptions: an e-mail never confirmed, a Slack channel "
    "removed from AWS Chatbot? Re-send the page by hand until it is fixed.")
WARNING_DELIVERY = DeliveryAlarm(
    "warning-topic-delivery-failed",
    "The warning topic failed to deliver a notification to a subscriber (SNS "
    "NumberOfNotificationsFailed).",
    "Open the warning topic's subscriptions: an e-mail never confirmed, a Slack channel "
    "removed from AWS Chatbot?")
CHANGE_ALERT_DELIVERY = DeliveryAlarm(
    "change-alert-delivery-failed",
    "An out-of-band change rule matched but could not publish to the critical topic "
    "(EventBridge FailedInvocations): a watched change (notification, queues, trail, key, bucket "
    "policy, group sizes) went unreported.",
    "Compare the critical topic's policy and its key's policy with the Alerts stack's "
    "template; then look for the change itself.")


class DeliveryAlarms(Construct):
    """The three alarms above, made by `factory`; `rules` are the change rules to watch."""

    def __init__(self, scope: Construct, construct_id: str, *, factory: AlarmFactory,
                 critical: sns.ITopic, warning: sns.ITopic, rules: list[events.IRule]) -> None:
        super().__init__(scope, construct_id)
        for alarm, topic, notify in ((CRITICAL_DELIVERY, critical, warning),
                                     (WARNING_DELIVERY, warning, critical)):
            self._add(factory, alarm, notify, topic.metric_number_of_notifications_failed(
                period=FIVE_MINUTES, statistic="Sum"))
        # One alarm for all rules: the sum of their failures; a rule without any reports no data,
        # hence FILL.
        failed = {f"rule{i}": cloudwatch.Metric(
            namespace="AWS/Events", metric_name="FailedInvocations",
            dimensions_map={"RuleName": rule.rule_name}, statistic="Sum", period=FIVE_MINUTES)
            for i, rule in enumerate(rules)}
        self._add(factory, CHANGE_ALERT_DELIVERY, warning, cloudwatch.MathExpression(
            expression=" + ".join(f"FILL({m}, 0)" for m in failed),
            using_metrics=failed, period=FIVE_MINUTES, label="Change alerts not delivered"))

    def _add(self, factory: AlarmFactory, alarm: DeliveryAlarm, topic: sns.ITopic,
             metric: cloudwatch.IMetric) -> None:
        # A failure is rare and each one matters: one in five minutes alarms; no data is none.
        factory.add(self, alarm.short, topic, metric, threshold=1,
                    comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    evaluation_periods=1, missing=cloudwatch.TreatMissingData.NOT_BREACHING,
                    what=alarm.what, first=alarm.first,
                    command=f"python -m ops test-alarm --env {factory.environment}")
