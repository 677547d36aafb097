"""Starting the first worker of a group that scaled to zero.

Target tracking on backlog per instance cannot do it for a small backlog: with no instance in
service the tracked value is the visible count itself, and target tracking scales out only above
the target (100), so 1 to 100 messages (S3's `s3:TestEvent` after the first deploy, a handful of
uploads in dev) would wait for their retention to expire. This adds a step policy that sets the
desired capacity to exactly one while messages are visible and the desired capacity is zero; from
one instance on, target tracking takes over. The alarm reads GroupDesiredCapacity, which the
group publishes every minute because its metrics collection is on (`group_metrics`).

ExactCapacity 1 cannot fight target tracking: the alarm's condition is "desired < 1", so it is
OK again as soon as any policy has set a capacity. tests/infra/test_scaling_replay.py replays
1, 10, 100 and 10,000 messages through the synthesized policies.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct

SHORT_NAME = "start-first-worker"
ONE_MINUTE = Duration.minutes(1)


def add_scale_from_zero(scope: Construct, *, group: autoscaling.AutoScalingGroup,
                        group_name: str, queue: sqs.IQueue, alarm_name: str,
                        environment: str) -> tuple[autoscaling.CfnScalingPolicy, cloudwatch.Alarm]:
    policy = autoscaling.CfnScalingPolicy(
        scope, "StartFirstWorker",
        auto_scaling_group_name=group.auto_scaling_group_name,
        policy_type="StepScaling",
        adjustment_type="ExactCapacity",
        metric_aggregation_type="Maximum",
        step_adjustments=[autoscaling.CfnScalingPolicy.StepAdjustmentProperty(
            metric_interval_lower_bound=0, scaling_adjustment=1)],
    )
    visible = cloudwatch.Metric(
        namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible",
        dimensions_map={"QueueName": queue.queue_name}, statistic="Maximum", period=ONE_MINUTE)
    desired = cloudwatch.Metric(
        namespace="AWS/AutoScaling", metric_name="GroupDesiredCapacity",
        dimensions_map={"AutoScalingGroupName": group_name}, statistic="Maximum",
        period=ONE_MINUTE)
    alarm = cloudwatch.Alarm(
        scope, "StartFirstWorkerAlarm",
        alarm_name=alarm_name,
        alarm_description=(
            "Scaling alarm, not a page: messages are visible and the worker group's desired "
            "capacity is 0, so it sets the capacity to 1 (target tracking starts no instance "
            "below its target). In ALARM for more than a few minutes: the group cannot launch. "
            f"First: `python -m ops diagnose --env {environment}`; read the group's scaling "
            f"activities. Runbook: docs/runbook.md#alarm-{SHORT_NAME}"),
        metric=cloudwatch.MathExpression(
            expression="IF(desired < 1, visible, 0)",
            using_metrics={"visible": visible, "desired": desired},
            period=ONE_MINUTE, label="Visible messages while no worker is wanted"),
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        # No data (an idle queue stops reporting): nothing waits, nothing to start.
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.node.default_child.alarm_actions = [policy.attr_arn]
    return policy, alarm
