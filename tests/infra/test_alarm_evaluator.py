"""The alarm evaluator (tests/support/alarm_evaluator.py) against the CloudWatch user guide's
documented examples, and the event-pattern matcher against EventBridge's documented rules,
before either is trusted with the incident replays (test_alarm_replay.py)."""

from __future__ import annotations

import pytest

from tests.support.alarm_evaluator import (
    ALARM,
    INSUFFICIENT,
    OK,
    AlarmDefinition,
    MetricStore,
    alarm_state,
    expression,
    run_alarms,
)
from tests.support.event_pattern import matches

RETAIN = "retain current state"
COLUMNS = ("missing", "ignore", "breaching", "notBreaching")


def points(text: str) -> list[bool | None]:
    return [{"0": False, "X": True, "-": None}[c] for c in text.split()]


# "How alarm state is evaluated when data is missing": the guide's first table, Datapoints to
# Alarm = Evaluation Periods = 3, five data points retrieved (oldest first).
THREE_OF_THREE = [
    ("0 - X - X", (OK, OK, OK, OK)),
    ("0 - - - -", (OK, OK, OK, OK)),
    ("- - - - -", (INSUFFICIENT, RETAIN, ALARM, OK)),
    ("0 X X - X", (ALARM, ALARM, ALARM, ALARM)),
    ("- - - - X", (INSUFFICIENT, RETAIN, ALARM, OK)),
    ("X - - - -", (ALARM, RETAIN, ALARM, OK)),
]
# The second table: 2 out of 3.
TWO_OF_THREE = [
    ("0 - X - X", (ALARM, ALARM, ALARM, ALARM)),
    ("0 0 X 0 X", (ALARM, ALARM, ALARM, ALARM)),
    ("0 - X - -", (OK, OK, ALARM, OK)),
    ("- - - - 0", (OK, OK, ALARM, OK)),
    ("- - - - X", (INSUFFICIENT, RETAIN, ALARM, OK)),
]


@pytest.mark.parametrize("m,data,expected", [(3, *row) for row in THREE_OF_THREE]
                         + [(2, *row) for row in TWO_OF_THREE])
def test_missing_data_tables_of_the_user_guide(m, data, expected):
    for treatment, want in zip(COLUMNS, expected, strict=True):
        for current in (OK, ALARM):
            got = alarm_state(points(data), evaluation_periods=3, datapoints_to_alarm=m,
                              treat_missing=treatment, current=current)
            assert got == (current if want == RETAIN else want), (data, treatment, current)


def test_m_out_of_n_breaching_points_need_not_be_consecutive():
    # "Evaluating an alarm": the breaching points must be among the last N, in any order.
    assert alarm_state(points("0 0 X 0 X 0 X"), evaluation_periods=5, datapoints_to_alarm=3,
                       treat_missing="missing") == ALARM
    assert alarm_state(points("X X 0 0 X 0 0"), evaluation_periods=5, datapoints_to_alarm=3,
                       treat_missing="missing") == OK


@pytest.mark.parametrize("text,values,expected", [
    ("IF(received >= 10, (received - FILL(deleted, 0)) / received, 0)",
     {"received": 20, "deleted": None}, 1.0),
    ("IF(received >= 10, (received - FILL(deleted, 0)) / received, 0)",
     {"received": 4, "deleted": 0}, 0.0),
    ("IF(received >= 10, (received - FILL(deleted, 0)) / received, 0)",
     {"received": None, "deleted": 3}, None),        # a missing condition: no data point
    ("IF(visible > 0 AND FILL(processed, 0) == 0, 1, 0)", {"visible": 5, "processed": None}, 1.0),
    ("IF(visible > 0 AND FILL(processed, 0) == 0, 1, 0)", {"visible": 5, "processed": 2}, 0.0),
    ("desired - in_service", {"desired": 3, "in_service": None}, None),
    ("100 * errors / attempts", {"errors": 1, "attempts": 0}, None),   # division by zero
    ("a OR b", {"a": 0, "b": 2}, 1.0),
    ("-a + 2 * b", {"a": 1, "b": 3}, 5.0),
])
def test_metric_math_functions_and_missing_points(text, values, expected):
    assert expression(text)(lambda ident, back=0: values[ident]) == expected


def test_diff_and_rate_read_the_previous_period():
    series = {0: 4.0, 1: 10.0, 2: None}

    def get(now):
        return lambda ident, back=0: 60 if ident == "__period_seconds__" else series[now - back]
    assert expression("DIFF(m)")(get(1)) == 6.0
    assert expression("RATE(m)")(get(1)) == 0.1           # per second of a 60 s period
    assert expression("DIFF(m)")(get(2)) is None           # a missing point: no difference
    assert expression("DIFF(FILL(m, 0))")(get(2)) == -10.0


def test_late_samples_are_missing_until_they_arrive():
    """A sample put with a delay is invisible to evaluations before it arrives, so an alarm
    over a late source and a punctual one sees the late one's recent minutes as missing."""
    alarm = AlarmDefinition.from_properties({
        "AlarmName": "late", "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
        "EvaluationPeriods": 1, "TreatMissingData": "notBreaching",
        "Metrics": [{"Id": "d", "Expression": "a - b", "ReturnData": True},
                    {"Id": "a", "ReturnData": False, "MetricStat": {
                        "Metric": {"Namespace": "N", "MetricName": "A"}, "Stat": "Sum", "Period": 60}},
                    {"Id": "b", "ReturnData": False, "MetricStat": {
                        "Metric": {"Namespace": "N", "MetricName": "B"}, "Stat": "Sum", "Period": 60}}],
    }, resolve=str)
    store = MetricStore()
    store.put(("N", "A", frozenset()), 0, 5)
    store.put(("N", "B", frozenset()), 0, 1, delay=2)
    assert alarm.value(store, 0, 0, as_of=0) is None       # b not there yet: no data point
    assert alarm.value(store, 0, 0, as_of=2) == 4
    assert alarm.range_at(store, 0)[-1] is None


def test_unsupported_math_is_refused_not_guessed():
    with pytest.raises(ValueError, match="STDDEV"):
        expression("STDDEV(m1)")
    with pytest.raises(ValueError):
        expression("m1 +")


def test_a_synthesized_style_alarm_runs_over_minutes():
    """Period 2 min, 2 of 2, notBreaching: the sum of each 2-minute period is compared."""
    alarm = AlarmDefinition.from_properties({
        "AlarmName": "probe", "Threshold": 10, "ComparisonOperator": "GreaterThanThreshold",
        "EvaluationPeriods": 2, "DatapointsToAlarm": 2, "TreatMissingData": "notBreaching",
        "Namespace": "NS", "MetricName": "M", "Statistic": "Sum", "Period": 120,
        "Dimensions": [{"Name": "Q", "Value": {"Ref": "Queue"}}]}, resolve=lambda v: "queue")
    store = MetricStore()
    key = ("NS", "M", frozenset({("Q", "queue")}))
    for minute, value in enumerate([0, 0, 6, 6, 6, 6, 0, 0]):
        store.put(key, minute, value)
    changes = run_alarms([alarm], store, range(8))
    # The first evaluation has one non-breaching period (notBreaching fills the other): OK.
    # Periods (2,3) and (4,5) sum to 12 each: ALARM at the end of minute 5; OK once a period
    # ending later sums to 10 or less.
    assert [(c.minute, c.state) for c in changes] == [(0, OK), (5, ALARM), (6, OK)]


# --- EventBridge patterns ("Content filtering in Amazon EventBridge event patterns") ---------

EVENT = {"source": "aws.s3", "detail": {
    "eventName": "PutBucketNotificationConfiguration", "sourceIPAddress": "203.0.113.7",
    "userIdentity": {"arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice"},
    "requestParameters": {"bucketName": "raw", "targets": [{"id": "1", "arn": "arn:q"}]}}}


@pytest.mark.parametrize("pattern,expected", [
    ({"source": ["aws.s3", "aws.sqs"]}, True),
    ({"source": ["aws.S3"]}, False),                                      # case-sensitive
    ({"detail": {"eventName": [{"prefix": "PutBucket"}]}}, True),
    ({"detail": {"sourceIPAddress": [{"anything-but": "cloudformation.amazonaws.com"}]}}, True),
    ({"detail": {"userIdentity": {"arn": [{"anything-but": {"prefix": "arn:aws:sts::111122223333:assumed-role/Admin/"}}]}}}, False),
    ({"detail": {"invokedBy": [{"anything-but": "x"}]}}, False),           # absent field
    ({"detail": {"invokedBy": [{"exists": False}]}}, True),
    ({"detail": {"requestParameters": {"targets": {"arn": ["arn:q"]}}}}, True),   # array of objects
    ({"detail": {"$or": [{"requestParameters": {"target": ["arn:q"]}},
                         {"requestParameters": {"targets": {"arn": ["arn:q"]}}}]}}, True),
    ({"detail": {"$or": [{"requestParameters": {"target": ["arn:q"]}}]}}, False),
])
def test_event_pattern_matcher_on_documented_rules(pattern, expected):
    assert matches(pattern, EVENT) is expected


def test_event_pattern_matcher_refuses_what_it_does_not_know():
    with pytest.raises(ValueError):
        matches({"detail": {"eventName": [{"suffix": "x"}]}}, EVENT)
