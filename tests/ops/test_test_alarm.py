"""`ops test-alarm` against moto: one alarm per topic goes to ALARM and back, read from history."""

from __future__ import annotations

import boto3

from harness.local_aws import REGION


def give_actions(moto: str, deployed, names_by_topic: dict[str, list[str]]) -> dict[str, str]:
    sns = boto3.client("sns", endpoint_url=moto, region_name=REGION)
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto, region_name=REGION)
    arns = {}
    for topic, names in names_by_topic.items():
        arns[topic] = sns.create_topic(Name=topic)["TopicArn"]
        for name in names:
            cloudwatch.put_metric_alarm(
                AlarmName=name, Namespace="AWS/SQS", MetricName="Stand-in", Statistic="Maximum",
                Period=60, EvaluationPeriods=1, Threshold=1.0,
                ComparisonOperator="GreaterThanThreshold",
                AlarmActions=[arns[topic]], OKActions=[arns[topic]])
            cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="healthy")
    return arns


def test_one_alarm_per_topic_goes_to_alarm_and_back(moto, deployed, ops):
    names = sorted(deployed.alarm_names)
    arns = give_actions(moto, deployed, {"critical": names[:2], "warning": names[2:4]})
    code, out = ops("test-alarm")
    assert code == 0, out
    assert f"{arns['critical']}: {names[0]} set to ALARM and back to OK" in out
    assert f"{arns['warning']}: {names[2]} set to ALARM and back to OK" in out
    assert "NOT in the history" not in out
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto, region_name=REGION)
    # moto keeps no alarm history; the state reason shows the alarm was set by the command.
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[names[0]])["MetricAlarms"]
    assert alarm["StateReason"].startswith("ops test-alarm") and alarm["StateValue"] == "OK"
    # Untouched: the second alarm of a topic, and the state it was left in.
    (second,) = cloudwatch.describe_alarms(AlarmNames=[names[1]])["MetricAlarms"]
    assert second["StateReason"] == "healthy"


def test_no_alarm_with_a_topic_is_an_error(deployed, ops):
    code, out = ops("test-alarm")
    assert code == 2 and "no alarm named file-search-dev-* notifies an SNS topic" in out
