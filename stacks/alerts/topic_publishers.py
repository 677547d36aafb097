"""Who may publish to the alarm topics, in the topic policies and in the topics' key policy.

`enforce_ssl` gives each topic an `AWS::SNS::TopicPolicy`, which replaces SNS's default policy:
every publisher must then be allowed by name, and, because the topics are encrypted with a
customer-managed key, also by the key policy (SNS "Enable compatibility between event sources
from AWS services and encrypted topics"). Without this no alarm ever reaches anyone: the alarm
history says "... is not authorized to perform: SNS:Publish ... because no resource-based policy
allows the SNS:Publish action" (aws-solutions/automated-security-response-on-aws#43).

Publishers, and how each is limited to this environment:

- CloudWatch alarms (`cloudwatch.amazonaws.com`): `aws:SourceAccount` and `aws:SourceArn`
  matching this environment's alarm names, in both the topic and the key policy.
- EventBridge rules (`events.amazonaws.com`): the same keys, on the rules' names, in the topic
  policy. In the key policy EventBridge's delivery to an encrypted topic does NOT carry
  `aws:SourceAccount` / `aws:SourceArn` (SNS key-management guide, same section: those keys are
  not supported for EventBridge-to-encrypted-topic delivery), so a condition on them there would
  drop every change alert. The key statement is therefore unconditioned: using the key alone
  publishes nothing, the topic policy decides which rules may publish.
- Auto Scaling notifications: the service-linked role of this account. Its own IAM policy allows
  sns:Publish (same account, so the topic policy need not), and the key policy admits it by ARN
  (in NotificationTopics: the role may not exist yet on the first deploy).

tests/infra/test_topic_publishers.py proves every alarm action and rule target of the app is
allowed by both policies and that other alarms, rules and accounts are not.
"""

from __future__ import annotations

import jsii
from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

CLOUDWATCH = "cloudwatch.amazonaws.com"
EVENTBRIDGE = "events.amazonaws.com"
# What SNS asks of the key on a publisher's behalf.
KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"]


def alarm_arn_pattern(stack: Stack, name_prefix: str) -> str:
    """ARNs of this environment's alarms: AlarmFactory names each `<name_prefix>-<short>`."""
    return stack.format_arn(service="cloudwatch", resource="alarm",
                            resource_name=f"{name_prefix}-*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME)


def rule_arn_pattern(stack: Stack, name_prefix: str) -> str:
    """ARNs of this environment's rules on the default bus (OutOfBandChangeWatch's names)."""
    return stack.format_arn(service="events", resource="rule", resource_name=f"{name_prefix}-*")


def allow_service_publishers(topics: list[sns.Topic], key: kms.IKey, *, name_prefix: str) -> None:
    """Topic and key statements for CloudWatch alarms and EventBridge rules of this environment."""
    stack = Stack.of(key)
    sources = {CLOUDWATCH: alarm_arn_pattern(stack, name_prefix),
               EVENTBRIDGE: rule_arn_pattern(stack, name_prefix)}
    for topic in topics:
        for service, source_arn in sources.items():
            topic.add_to_resource_policy(iam.PolicyStatement(
                sid=f"{service.split('.')[0].capitalize()}Publish",
                principals=[iam.ServicePrincipal(service)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account},
                            "ArnLike": {"aws:SourceArn": source_arn}},
            ))
    key.add_to_resource_policy(iam.PolicyStatement(
        sid="CloudWatchAlarmsPublish",
        principals=[iam.ServicePrincipal(CLOUDWATCH)],
        actions=KEY_ACTIONS,
        resources=["*"],
        conditions={"StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": sources[CLOUDWATCH]}},
    ))
    # No aws:Source* condition: EventBridge's KMS request does not carry them (module docstring).
    key.add_to_resource_policy(iam.PolicyStatement(
        sid="EventBridgeRulesPublish",
        principals=[iam.ServicePrincipal(EVENTBRIDGE)],
        actions=KEY_ACTIONS,
        resources=["*"],
    ))


@jsii.implements(events.IRuleTarget)
class TopicTarget:
    """An SNS topic as a rule target, without the grant `targets.SnsTopic` adds.

    `targets.SnsTopic` appends an unconditioned allow for `events.amazonaws.com` to the topic's
    policy, which would let any rule of any account publish; the topic policy above already
    allows this environment's rules, so this target only names the topic and the message.
    """

    def __init__(self, topic: sns.ITopic, *, message: events.RuleTargetInput) -> None:
        self.topic = topic
        self.message = message

    def bind(self, rule: events.IRule, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self.topic.topic_arn, input=self.message)
