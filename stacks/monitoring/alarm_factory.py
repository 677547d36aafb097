"""One way to make an alarm: stable name, ALARM and OK to its severity's topic, and a
description that says what it means, the `ops` command to run first, and the runbook step.

Every alarm of the pipeline (queue, worker, fleet, search domain) is made here, so they all
read the same way: `file-search-<env>-<short>`, described as
"<what> First: <command>; <step> Runbook: docs/runbook.md#alarm-<short>"
(the `alarm-` prefix keeps alarm sections apart from the runbook's `check-` and `command-` ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

RUNBOOK = "docs/runbook.md#alarm-"
# CloudWatch limits an alarm description to 1024 characters.
MAX_DESCRIPTION = 1024


@dataclass
class AlarmFactory:
    """Makes the alarms of one environment and remembers them by short name."""

    environment: str
    name_prefix: str
    alarms: dict[str, cloudwatch.Alarm] = field(default_factory=dict)

    def diagnose(self) -> str:
        return f"python -m ops diagnose --env {self.environment}"

    def drift(self) -> str:
        return f"python -m ops drift --env {self.environment}"

    def add(self, scope: Construct, short: str, topic: sns.ITopic, metric: cloudwatch.IMetric, *,
            threshold: float, comparison: cloudwatch.ComparisonOperator,
            evaluation_periods: int, missing: cloudwatch.TreatMissingData,
            what: str, first: str, command: str | None = None,
            datapoints_to_alarm: int | None = None) -> cloudwatch.Alarm:
        if short in self.alarms:
            raise ValueError(f"two alarms named {short!r}")
        description = (f"{what} First: `{command or self.diagnose()}`; {first} "
                       f"Runbook: {RUNBOOK}{short}")
        if len(description) > MAX_DESCRIPTION:
            raise ValueError(f"alarm {short}: description has {len(description)} characters, "
                             f"CloudWatch allows {MAX_DESCRIPTION}")
        alarm = cloudwatch.Alarm(
            scope, short,
            alarm_name=f"{self.name_prefix}-{short}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm or evaluation_periods,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(actions.SnsAction(topic))
        alarm.add_ok_action(actions.SnsAction(topic))
        self.alarms[short] = alarm
        return alarm
