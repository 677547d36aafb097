"""SNS topics per severity, encrypted with a key that alarms, EventBridge and Auto Scaling may use."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from config import AlarmSubscriptions
from stacks.alerts.topic_publishers import allow_service_publishers
from stacks.shared.keys import customer_managed_key


class NotificationTopics(Construct):
    """`critical` pages someone now; `warning` needs a look today. Subscriptions from config."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: AlarmSubscriptions,
                 name_prefix: str, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # alias/aws/sns cannot be used by CloudWatch alarms or Auto Scaling, so the topics get
        # a customer-managed key whose policy lets exactly those services publish. Its removal
        # policy is the environment's: a deleted key makes retained messages unreadable.
        self.key = customer_managed_key(
            self, "TopicKey", removal_policy=removal_policy,
            description="Encrypts the ingestion pipeline's alarm topics",
        )
        # Auto Scaling publishes with its service-linked role, which may not exist yet when this
        # stack is first deployed; a key policy principal must exist, so match it by ARN instead.
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid="AutoScalingNotificationsPublish",
            principals=[iam.AnyPrincipal()],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
            conditions={
                "StringEquals": {"kms:CallerAccount": stack.account},
                "ArnEquals": {"aws:PrincipalArn": stack.format_arn(
                    service="iam", region="", resource="role",
                    resource_name="aws-service-role/autoscaling.amazonaws.com/"
                                  "AWSServiceRoleForAutoScaling")},
            },
        ))

        self.critical = self._topic("Critical", settings.critical_emails)
        self.warning = self._topic("Warning", settings.warning_emails)
        allow_service_publishers([self.critical, self.warning], self.key, name_prefix=name_prefix)

        if settings.slack is not None:
            chatbot.SlackChannelConfiguration(
                self, "Slack",
                slack_channel_configuration_name=f"{stack.stack_name}-alarms",
                slack_workspace_id=settings.slack.workspace_id,
                slack_channel_id=settings.slack.channel_id,
                notification_topics=[self.critical, self.warning],
                guardrail_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(
                    "ReadOnlyAccess")],
            )

    def _topic(self, name: str, emails: tuple[str, ...]) -> sns.Topic:
        topic = sns.Topic(self, name, master_key=self.key, enforce_ssl=True,
                          display_name=f"ingestion {name.lower()}")
        for email in emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic
