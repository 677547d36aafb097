"""Replays a backlog of 1, 10, 100 and 10,000 messages into an idle group against the scaling
policies as synthesized, minute by minute: does a group at zero start a worker?

Model (each number from the template except where said):
- the start-from-zero alarm is evaluated by tests/support/alarm_evaluator.py from its template
  properties; in ALARM, its step policy applies its step adjustment as ExactCapacity;
- target tracking reads the template's expression over `visible` and `in_service`; it scales out
  when the tracked value stays above the target for 3 one-minute data points (AWS's scale-out
  alarm for target tracking on a one-minute metric) to ceil(visible / target) instances, which
  is what "backlog per instance = target" asks for, within min and max;
- an instance is in service BOOT_MINUTES after its launch (the launch template's boot script,
  not in the template); nothing is consumed during the replay (the question is whether the first
  worker starts); metric ingestion delays are not modelled (the evaluator's convention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from environments import ENVIRONMENTS
from tests.support.alarm_evaluator import ALARM, AlarmDefinition, MetricStore, alarm_state, expression
from tests.support.templates import only_resource, resources_of_type

BOOT_MINUTES = 5
REPLAY_MINUTES = 15
# AWS's target-tracking scale-out alarm on a one-minute metric: 3 of 3 data points.
TARGET_TRACKING_POINTS = 3


def placeholder(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


@dataclass
class Policies:
    target: float
    tracked: object  # the expression node
    step_alarm: AlarmDefinition | None
    step_capacity: int | None
    min_capacity: int
    max_capacity: int

    @classmethod
    def from_template(cls, fleet: dict) -> Policies:
        policies = resources_of_type(fleet, "AWS::AutoScaling::ScalingPolicy")
        _, tracking = only_resource(fleet, "AWS::AutoScaling::ScalingPolicy",
                                    lambda r: r["Properties"]["PolicyType"] == "TargetTrackingScaling")
        config = tracking["Properties"]["TargetTrackingConfiguration"]
        (tracked,) = [m["Expression"] for m in config["CustomizedMetricSpecification"]["Metrics"]
                      if m.get("ReturnData")]
        _, group = only_resource(fleet, "AWS::AutoScaling::AutoScalingGroup")
        step_ids = [lid for lid, p in policies.items() if p["Properties"]["PolicyType"] == "StepScaling"]
        step_alarm = step_capacity = None
        if step_ids:
            (step_id,) = step_ids
            step = policies[step_id]["Properties"]
            assert step["AdjustmentType"] == "ExactCapacity"
            (adjustment,) = step["StepAdjustments"]
            assert adjustment["MetricIntervalLowerBound"] == 0 and "MetricIntervalUpperBound" not in adjustment
            step_capacity = adjustment["ScalingAdjustment"]
            (alarm,) = [a["Properties"] for a in resources_of_type(fleet, "AWS::CloudWatch::Alarm").values()
                        if {"Fn::GetAtt": [step_id, "Arn"]} in a["Properties"].get("AlarmActions", [])]
            step_alarm = AlarmDefinition.from_properties(alarm, placeholder)
        return cls(target=config["TargetValue"], tracked=expression(tracked), step_alarm=step_alarm,
                   step_capacity=step_capacity, min_capacity=int(group["Properties"]["MinSize"]),
                   max_capacity=int(group["Properties"]["MaxSize"]))


@dataclass
class Replay:
    desired: list[int]  # per minute, after that minute's scaling
    in_service: list[int]

    def first_minute(self, series: list[int]) -> int | None:
        return next((t for t, v in enumerate(series) if v >= 1), None)


def replay(policies: Policies, messages: int, *, use_step: bool = True) -> Replay:
    store = MetricStore()
    alarm = policies.step_alarm if use_step else None
    keys = {}
    if alarm is not None:
        keys = {q.key[1]: q.key for q in alarm.metrics.values()}
    desired, launches = policies.min_capacity, []
    state, above = "INSUFFICIENT_DATA", 0
    out = Replay([], [])
    for minute in range(REPLAY_MINUTES):
        in_service = sum(1 for t in launches if minute - t >= BOOT_MINUTES)
        values = {"ApproximateNumberOfMessagesVisible": messages, "GroupDesiredCapacity": desired,
                  "GroupInServiceInstances": in_service}
        for name, key in keys.items():
            store.put(key, minute, values[name])
        wanted = desired
        if alarm is not None:
            points = alarm.range_at(store, minute)
            state = alarm_state(points, evaluation_periods=alarm.evaluation_periods,
                                datapoints_to_alarm=alarm.datapoints_to_alarm,
                                treat_missing=alarm.treat_missing, current=state)
            if state == ALARM:
                wanted = policies.step_capacity
        tracked = policies.tracked({"visible": messages, "in_service": in_service}.get)
        above = above + 1 if tracked is not None and tracked > policies.target else 0
        if above >= TARGET_TRACKING_POINTS:
            wanted = max(wanted, math.ceil(messages / policies.target))
        wanted = min(max(wanted, policies.min_capacity), policies.max_capacity)
        launches += [minute] * max(0, wanted - desired)
        desired = wanted
        out.desired.append(desired)
        out.in_service.append(sum(1 for t in launches if minute + 1 - t >= BOOT_MINUTES))
    return out


@pytest.fixture(scope="module")
def dev_policies(synthesized) -> Policies:
    return Policies.from_template(synthesized.templates["dev"]["Fleet"])


@pytest.mark.parametrize("messages", [1, 10, 100, 10_000])
def test_a_group_at_zero_starts_a_worker_for_any_backlog(dev_policies, messages):
    assert dev_policies.min_capacity == 0 and dev_policies.step_alarm is not None
    result = replay(dev_policies, messages)
    first = result.first_minute(result.desired)
    evaluation = dev_policies.step_alarm.period_minutes * dev_policies.step_alarm.evaluation_periods
    print(f"\n{messages} messages: desired >= 1 at minute {first}, desired by minute "
          f"{result.desired}, first in service at minute {result.first_minute(result.in_service)}")
    # The first datapoint is complete at the end of minute 0: started within one evaluation.
    assert first is not None and first <= evaluation - 1
    if messages > dev_policies.target * dev_policies.max_capacity:
        assert result.desired[-1] == dev_policies.max_capacity


@pytest.mark.parametrize("messages", [1, 10, 100])
def test_without_the_step_policy_a_small_backlog_waits_forever(dev_policies, messages):
    """Why the step policy exists: target tracking alone never starts the first instance."""
    assert replay(dev_policies, messages, use_step=False).desired == [0] * REPLAY_MINUTES


def test_a_large_backlog_is_scaled_by_target_tracking_alone(dev_policies):
    result = replay(dev_policies, 10_000, use_step=False)
    assert result.desired[-1] == dev_policies.max_capacity


def test_only_groups_that_can_reach_zero_get_the_step_policy(synthesized, env):
    policies = Policies.from_template(synthesized.templates[env]["Fleet"])
    assert (policies.step_alarm is not None) == (ENVIRONMENTS[env].fleet.min_capacity == 0)
