"""Alarm topics: deployed first, so every other stack can notify them."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from config import EnvironmentConfig
from stacks.alerts.notification_topics import NotificationTopics
from stacks.shared.cdk_values import removal_policy


class AlertsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.topics = NotificationTopics(
            self, "Topics", settings=config.subscriptions, name_prefix=config.name_prefix,
            removal_policy=removal_policy(config.removal_policy))
