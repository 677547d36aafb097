"""The guard refuses every second notification path to a queue, and passes the real app.

The broken variants are built for real (the project's StatefulStack plus one mistake each, or
plain L1 resources in an unrelated stack) and synthesized together in one app, one stage per
variant, so that one synthesis proves each variant is refused on its own.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from aws_cdk import Stack, Stage
from aws_cdk import aws_events as events
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs

from environments import ENVIRONMENTS
from pipeline_constructs.notification_guard import RULE_NAME, find_duplicate_paths
from pipeline_constructs.synthesis_checks import add_synthesis_checks
from stacks.stateful_stack import StatefulStack
from tests.support.cdk_app import REPO, new_app

GUARD = "SingleNotificationPathGuard"


def second_queue_configuration(stateful: StatefulStack) -> None:
    stateful.raw_files.bucket.add_event_notification(
        s3.EventType.OBJECT_CREATED_PUT,
        s3n.SqsDestination(stateful.queues.main_queue),
        s3.NotificationKeyFilter(prefix="raw-files/archive/"),
    )


def eventbridge_on_the_bucket(stateful: StatefulStack) -> None:
    stateful.raw_files.bucket.enable_event_bridge_notification()


def eventbridge_rule_in_another_stack(stateful: StatefulStack) -> None:
    other = Stack(stateful.node.scope, "Forwarder")
    events.CfnRule(other, "ForwardUploads",
                   event_pattern={"source": ["aws.s3"], "detail-type": ["Object Created"]},
                   targets=[events.CfnRule.TargetProperty(id="q", arn=stateful.queues.main_queue.queue_arn)])
    # A rule only sees S3 events when the bucket sends them to EventBridge: both mistakes together.
    stateful.raw_files.bucket.enable_event_bridge_notification()


def eventbridge_pipe(stateful: StatefulStack) -> None:
    staging = sqs.Queue(stateful, "StagingQueue", enforce_ssl=True)
    pipes.CfnPipe(stateful, "Pipe", role_arn="arn:aws:iam::123456789012:role/pipe",
                  source=staging.queue_arn, target=stateful.queues.main_queue.queue_arn)


def sns_fan_out(stateful: StatefulStack) -> None:
    topic = sns.Topic(stateful, "Uploads", enforce_ssl=True)
    stateful.raw_files.bucket.add_event_notification(
        s3.EventType.OBJECT_CREATED, s3n.SnsDestination(topic),
        s3.NotificationKeyFilter(prefix="raw-files/other/"))
    topic.add_subscription(subscriptions.SqsSubscription(stateful.queues.main_queue))


def raw_l1_bucket_outside_the_project_constructs(stateful: StatefulStack) -> None:
    other = Stack(stateful.node.scope, "Legacy")
    queue = sqs.CfnQueue(other, "LegacyQueue")
    config = s3.CfnBucket.QueueConfigurationProperty
    s3.CfnBucket(other, "LegacyBucket", notification_configuration=s3.CfnBucket.NotificationConfigurationProperty(
        queue_configurations=[config(event="s3:ObjectCreated:*", queue=queue.attr_arn),
                              config(event="s3:ObjectCreated:Put", queue=queue.attr_arn)]))


VARIANTS = {
    "second-queue-config": (second_queue_configuration, "QueueConfiguration #2"),
    "eventbridge-bucket": (eventbridge_on_the_bucket, "EventBridge enabled on bucket"),
    "eventbridge-rule": (eventbridge_rule_in_another_stack, "EventBridge rule"),
    "pipe": (eventbridge_pipe, "EventBridge pipe"),
    "sns-fan-out": (sns_fan_out, "SNS topic"),
    "raw-l1": (raw_l1_bucket_outside_the_project_constructs, "QueueConfiguration #2"),
}


@pytest.fixture(scope="module")
def broken_report(tmp_path_factory) -> dict:
    outdir = tmp_path_factory.mktemp("broken")
    app = new_app(outdir)
    for name, (break_it, _) in VARIANTS.items():
        stage = Stage(app, name)
        break_it(StatefulStack(stage, "Stateful", config=ENVIRONMENTS["dev"]))
    add_synthesis_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    return json.loads((outdir / "validation-report.json").read_text())


def guard_violations(report: dict) -> list[dict]:
    plugin = [p for p in report["pluginReports"] if p["pluginName"] == GUARD]
    return plugin[0]["violations"] if plugin else []


@pytest.mark.parametrize("variant", VARIANTS)
def test_guard_refuses_each_second_path(broken_report, variant):
    expected_path = VARIANTS[variant][1]
    mine = [v for v in guard_violations(broken_report)
            if all(c["cloudFormationResource"]["templatePath"].startswith(f"assembly-{variant}/")
                   for c in v["violatingConstructs"])]
    assert len(mine) == 1, f"{variant}: {json.dumps(guard_violations(broken_report), indent=1)[:3000]}"
    violation = mine[0]
    assert violation["ruleName"] == RULE_NAME
    assert violation["severity"] == "error"
    text = violation["description"]
    paths = 3 if variant == "eventbridge-rule" else 2  # that variant makes both mistakes
    assert f"receives S3 events through {paths} paths" in text
    assert expected_path in text
    if variant != "raw-l1":
        assert f"Queue {variant}/Stateful/IngestQueues/MainQueue" in text
        assert f"{variant}/Stateful/RawFiles/Bucket" in text


def test_guard_reports_only_the_broken_variants(broken_report):
    assert len(guard_violations(broken_report)) == len(VARIANTS)


def test_the_real_app_passes_every_check(synthesized):
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    failures = [p for p in report["pluginReports"] if p.get("conclusion") != "success"]
    assert failures == []


def test_nothing_in_the_app_acknowledges_the_guard(synthesized):
    for metadata in synthesized.outdir.rglob("*.metadata.json"):
        assert RULE_NAME not in metadata.read_text(), metadata


def test_the_cdk_cli_refuses_a_broken_app(tmp_path):
    """What users run: `cdk synth` fails with the guard's message."""
    broken_app = tmp_path / "broken_app.py"
    broken_app.write_text(textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(REPO)!r})
        from aws_cdk import App
        from environments import environments_named
        from stacks.ingestion_stage import compose_app
        from tests.infra.test_notification_guard import second_queue_configuration
        app = App()
        stages = compose_app(app, environments_named(["dev"]))
        second_queue_configuration(stages["dev"].stateful)
        app.synth()
    """))
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--app",
         f"{REPO / '.venv/bin/python'} {broken_app}", "--output", str(tmp_path / "cdk.out"), "dev/*"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "receives S3 events through 2 paths" in output
    assert "QueueConfiguration #2 on bucket dev/Stateful/RawFiles/Bucket" in output


# --- the analysis on hand-written templates: shapes the CDK constructs never produce ---------

def _queue(name=None):
    return {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name} if name else {}}


def test_a_literal_queue_arn_is_matched_to_the_queue_by_name():
    templates = {
        "a.json": {"Resources": {"Q": _queue("ingest-main"), "B": {
            "Type": "AWS::S3::Bucket", "Properties": {"NotificationConfiguration": {
                "QueueConfigurations": [{"Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": ["Q", "Arn"]}}]}}}}},
        "b.json": {"Resources": {"R": {"Type": "AWS::Events::Rule", "Properties": {
            "EventPattern": json.dumps({"source": ["aws.s3"]}),
            "Targets": [{"Id": "1", "Arn": "arn:aws:sqs:eu-west-1:123456789012:ingest-main"}]}}}},
    }
    (violation,) = find_duplicate_paths(templates)
    assert len(violation.paths) == 2


def test_queues_fed_by_different_buckets_once_each_are_fine():
    def bucket(queue):
        return {"Type": "AWS::S3::Bucket", "Properties": {"NotificationConfiguration": {
            "QueueConfigurations": [{"Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": [queue, "Arn"]}}]}}}
    templates = {"a.json": {"Resources": {"Q1": _queue(), "Q2": _queue(), "B1": bucket("Q1"), "B2": bucket("Q2")}}}
    assert find_duplicate_paths(templates) == []


def test_a_rule_for_other_sources_is_not_an_s3_path():
    templates = {"a.json": {"Resources": {
        "Q": _queue(),
        "B": {"Type": "AWS::S3::Bucket", "Properties": {"NotificationConfiguration": {
            "QueueConfigurations": [{"Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": ["Q", "Arn"]}}]}}},
        "R": {"Type": "AWS::Events::Rule", "Properties": {
            "EventPattern": {"source": ["aws.ec2"]}, "Targets": [{"Id": "1", "Arn": {"Fn::GetAtt": ["Q", "Arn"]}}]}},
    }}}
    assert find_duplicate_paths(templates) == []


def test_a_rule_without_a_source_filter_counts_as_an_s3_path():
    templates = {"a.json": {"Resources": {
        "Q": _queue(),
        "B": {"Type": "AWS::S3::Bucket", "Properties": {"NotificationConfiguration": {
            "QueueConfigurations": [{"Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": ["Q", "Arn"]}}]}}},
        "R": {"Type": "AWS::Events::Rule", "Properties": {
            "EventPattern": {"detail-type": ["Object Created"]},
            "Targets": [{"Id": "1", "Arn": {"Fn::GetAtt": ["Q", "Arn"]}}]}},
    }}}
    (violation,) = find_duplicate_paths(templates)
    assert "EventBridge rule" in violation.message


def test_unresolvable_targets_are_never_merged_into_a_false_duplicate():
    weird = {"Fn::If": ["Cond", "a", "b"]}
    templates = {"a.json": {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {
        "NotificationConfiguration": {"QueueConfigurations": [{"Event": "e", "Queue": weird}]}}}}},
        "b.json": {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {
            "NotificationConfiguration": {"QueueConfigurations": [{"Event": "e", "Queue": weird}]}}}}}}
    assert find_duplicate_paths(templates) == []


def test_report_names_template_locations(tmp_path: Path):
    templates = {"a.json": {"Resources": {"Q": _queue(), "B": {"Type": "AWS::S3::Bucket", "Properties": {
        "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True},
                                      "QueueConfigurations": [{"Event": "s3:ObjectCreated:*",
                                                               "Queue": {"Fn::GetAtt": ["Q", "Arn"]}}]}}}}}}
    (violation,) = find_duplicate_paths(templates)
    locations = [p.location for p in violation.paths]
    assert locations == ["Properties/NotificationConfiguration/QueueConfigurations/0",
                         "Properties/NotificationConfiguration/EventBridgeConfiguration"]
