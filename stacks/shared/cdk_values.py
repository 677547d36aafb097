"""Configuration's plain values as CDK's enums.

The configuration stays free of aws_cdk (ops and local import it without jsii); the stacks
convert here, so each conversion exists once.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from config import LOG_RETENTION_DAYS_ALLOWED

_REMOVAL_POLICIES = {"retain": RemovalPolicy.RETAIN, "destroy": RemovalPolicy.DESTROY}

# Days -> CDK's enum, for every period CloudWatch Logs accepts.
_BY_DAYS = {
    1: logs.RetentionDays.ONE_DAY, 3: logs.RetentionDays.THREE_DAYS, 5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK, 14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS, 90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS, 150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS, 365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS, 545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS, 1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS, 2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS, 2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS, 3653: logs.RetentionDays.TEN_YEARS,
}
# The configuration validates against its own list of days: both lists must name the same.
if set(_BY_DAYS) != LOG_RETENTION_DAYS_ALLOWED:
    raise RuntimeError("config/log_retention.py and stacks/shared/cdk_values.py list different "
                       f"retention periods: {sorted(set(_BY_DAYS) ^ LOG_RETENTION_DAYS_ALLOWED)}")


def removal_policy(value: str) -> RemovalPolicy:
    """RemovalPolicy for the configuration's "retain" or "destroy" (already validated)."""
    return _REMOVAL_POLICIES[value]


def retention_days(days: int) -> logs.RetentionDays:
    """The RetentionDays for `days`; the configuration already refused any other value."""
    return _BY_DAYS[days]
