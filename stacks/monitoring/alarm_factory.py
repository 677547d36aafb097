"""One way to make an alarm: stable name, ALARM and OK to its severity's topic, and a
description that says what it means, the `ops` command to run first, and the runbook step.

Every alarm of the pipeline (queue, worker, fleet, search domain) is made here, so they all
read the same way: `file-search-<env>-<short>`, described as
"<what> First: <command>; <step> Runbook: docs/runbook.md#alarm-<short>"
(`AlarmSpec.description`). The alarms themselves are rows of `alarm_table.py`; `add_rows` turns
rows into alarms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.monitoring.alarm_table import COMPARISONS, CRITICAL, AlarmSpec, Math, Metric


@dataclass
class AlarmFactory:
    """Makes the alarms of one environment and remembers them by short name."""

    environment: str
    name_prefix: str
    alarms: dict[str, cloudwatch.Alarm] = field(default_factory=dict)

    def add_rows(self, scope: Construct, rows: Iterable[AlarmSpec], *, critical: sns.ITopic,
                 warning: sns.ITopic, metric: Callable[[Metric], cloudwatch.IMetric]) -> None:
        """One alarm per row, in order, under `scope`; `metric` resolves a row's metric source
        (queue, group, log metric, domain, topic, rule) to the CloudWatch metric."""
        for row in rows:
            self.add(scope, row, critical if row.topic == CRITICAL else warning,
                     _cloudwatch_metric(row.metric, metric))

    def add(self, scope: Construct, row: AlarmSpec, topic: sns.ITopic,
            metric: cloudwatch.IMetric) -> cloudwatch.Alarm:
        if row.short in self.alarms:
            raise ValueError(f"two alarms named {row.short!r}")
        alarm = cloudwatch.Alarm(
            scope, row.short,
            alarm_name=f"{self.name_prefix}-{row.short}",
            alarm_description=row.description(self.environment),
            metric=metric,
            threshold=row.threshold,
            comparison_operator=_enum(cloudwatch.ComparisonOperator, COMPARISONS[row.comparison]),
            evaluation_periods=row.evaluation_periods,
            datapoints_to_alarm=row.datapoints,
            treat_missing_data=_enum(cloudwatch.TreatMissingData, row.missing),
        )
        alarm.add_alarm_action(actions.SnsAction(topic))
        alarm.add_ok_action(actions.SnsAction(topic))
        self.alarms[row.short] = alarm
        return alarm


def _enum(kind, cloudformation_value: str):
    """CDK's enum member for a CloudFormation value ("notBreaching" -> NOT_BREACHING)."""
    return kind[re.sub(r"(?<!^)([A-Z])", r"_\1", cloudformation_value).upper()]


def _cloudwatch_metric(spec: Metric | Math,
                       metric: Callable[[Metric], cloudwatch.IMetric]) -> cloudwatch.IMetric:
    if isinstance(spec, Metric):
        return metric(spec)
    return cloudwatch.MathExpression(
        expression=spec.expression,
        using_metrics={key: _cloudwatch_metric(used, metric) for key, used in spec.using.items()},
        period=Duration.seconds(spec.period), label=spec.label)
