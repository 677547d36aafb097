"""Alarms on the alerting itself: a notification SNS could not deliver, a change alert that
EventBridge could not publish.

Each reports on the *other* severity's topic where it can: a topic whose deliveries fail may be
the one that cannot reach anyone, and a change rule that cannot publish to the critical topic
cannot tell the critical topic so. The alarms are the rows of `alarm_table.delivery_alarms`.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.monitoring import alarm_table
from stacks.monitoring.alarm_factory import AlarmFactory
from stacks.monitoring.alarm_table import CRITICAL_TOPIC, RULE, WARNING_TOPIC, Metric


class DeliveryAlarms(Construct):
    """The alarms above, made by `factory`; `rules` are the change rules to watch, by short name."""

    def __init__(self, scope: Construct, construct_id: str, *, factory: AlarmFactory,
                 critical: sns.ITopic, warning: sns.ITopic,
                 rules: dict[str, events.IRule]) -> None:
        super().__init__(scope, construct_id)
        topics = {CRITICAL_TOPIC: critical, WARNING_TOPIC: warning}

        def metric(m: Metric) -> cloudwatch.IMetric:
            period = Duration.seconds(m.period)
            if m.source in topics:
                return topics[m.source].metric(m.name, statistic=m.statistic, period=period,
                                               label=m.label)
            rule = rules[m.source.removeprefix(RULE)] if m.source.startswith(RULE) else None
            if rule is None:
                raise ValueError(f"delivery alarms: metric {m.name} of unknown {m.source!r}")
            return cloudwatch.Metric(namespace="AWS/Events", metric_name=m.name,
                                     dimensions_map={"RuleName": rule.rule_name},
                                     statistic=m.statistic, period=period, label=m.label)

        factory.add_rows(self, alarm_table.delivery_alarms(list(rules)),
                         critical=critical, warning=warning, metric=metric)
