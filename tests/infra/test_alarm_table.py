"""The alarm table's rows refuse what CloudWatch or the constructs could not use, naming the
alarm (stacks/monitoring/alarm_table.py); the constructs' output is checked against the rows in
test_monitoring_stack.py."""

from __future__ import annotations

import pytest

from environments import ENVIRONMENTS
from stacks.monitoring.alarm_table import (
    DLQ,
    MAX_DESCRIPTION,
    WARNING,
    AlarmSpec,
    Metric,
    environment_alarms,
)


def row(**changes) -> AlarmSpec:
    fields = dict(short="probe", topic=WARNING,
                  metric=Metric(DLQ, "ApproximateNumberOfMessagesVisible", "Maximum"),
                  comparison=">=", threshold=1, what="What.", first="Step.",
                  fires_when="always", level="on", then="act")
    return AlarmSpec(**{**fields, **changes})


def test_a_row_names_its_command_and_runbook_section_in_the_description():
    assert row(command="drift").description("prod") == (
        "What. First: `python -m ops drift --env prod`; Step. "
        "Runbook: docs/runbook.md#alarm-probe")


def test_a_description_longer_than_cloudwatch_allows_names_the_alarm():
    with pytest.raises(ValueError, match=f"alarm probe: description has .* allows {MAX_DESCRIPTION}"):
        row(what="x" * MAX_DESCRIPTION).description("prod")


@pytest.mark.parametrize(("changes", "message"), [
    ({"topic": "pager"}, "alarm probe: topic 'pager'"),
    ({"comparison": "=="}, "alarm probe: comparison '=='"),
])
def test_a_bad_topic_or_comparison_names_the_alarm(changes, message):
    with pytest.raises(ValueError, match=message):
        row(**changes)


def test_an_unknown_metric_source_is_refused():
    with pytest.raises(ValueError, match="metric Errors: unknown source 'lambda'"):
        Metric("lambda", "Errors", "Sum")


@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_every_environment_has_unique_names_and_descriptions_that_fit(env):
    rows = environment_alarms(ENVIRONMENTS[env])
    assert len({r.short for r in rows}) == len(rows)
    for r in rows:
        assert len(r.description(env)) <= MAX_DESCRIPTION
