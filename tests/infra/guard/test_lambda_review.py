"""A bucket's Lambda notifications are listed for a reviewer, as warnings that do not fail synthesis.

A function notified by the bucket could forward the events to the queue; the templates cannot
show it, so refusing would be a guess and staying silent would hide a possible second path.
"""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, Stack, Stage, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n

from checks.notification_guard import (
    LAMBDA_REVIEW_RULE_NAME,
    SingleNotificationPathGuard,
    find_duplicate_paths,
    find_lambda_notifications,
)
from environments import ENVIRONMENTS
from stacks.stateful.stack import StatefulStack
from tests.support.cdk_app import new_app


def test_a_lambda_notification_is_a_warning_in_a_successful_report(tmp_path):
    app = new_app(tmp_path)
    stateful = StatefulStack(Stage(app, "dev"), "Stateful", config=ENVIRONMENTS["dev"])
    function = lambda_.Function(stateful, "Thumbnailer", runtime=lambda_.Runtime.PYTHON_3_12,
                                handler="index.handler", code=lambda_.Code.from_inline("def handler(e, c): pass"))
    stateful.raw_files.bucket.add_event_notification(
        s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(function),
        s3.NotificationKeyFilter(prefix="images/"))
    # Only the guard: cdk-nag has its own opinions about this test's function.
    Validations.of(app).add_plugins(SingleNotificationPathGuard())

    app.synth()  # a warning does not fail synthesis

    (report,) = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    assert report["conclusion"] == "success"
    (violation,) = report["violations"]
    assert violation["ruleName"] == LAMBDA_REVIEW_RULE_NAME
    assert violation["severity"] == "warning"
    text = violation["description"]
    assert "Bucket dev/Stateful/RawFiles/Bucket sends S3 events" in text
    assert "s3:ObjectCreated:*, prefix 'images/'" in text
    assert "Lambda function dev/Stateful/Thumbnailer" in text
    assert "also notifies dev/Stateful/IngestQueues/MainQueue directly" in text
    (resource,) = violation["violatingConstructs"]
    assert resource["cloudFormationResource"]["propertyPaths"] == [
        "Properties/NotificationConfiguration/LambdaFunctionConfigurations/0"]


def test_cloudformation_lambda_configurations_are_listed_too():
    templates = {"a.json": {"Resources": {
        "F": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "B": {"Type": "AWS::S3::Bucket", "Properties": {"NotificationConfiguration": {
            "LambdaConfigurations": [{"Event": "s3:ObjectCreated:Put", "Function": {"Fn::GetAtt": ["F", "Arn"]},
                                      "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "in/"}]}}}]}}},
    }}}
    (notification,) = find_lambda_notifications(templates)
    assert notification.bucket_name == "B in a.json"
    assert notification.function_name == "F in a.json"
    assert notification.events == "s3:ObjectCreated:Put, prefix 'in/'"
    assert notification.queues_of_the_bucket == ()
    assert find_duplicate_paths(templates) == []  # listed for review, not a path


def test_a_reviewer_acknowledges_a_checked_function_next_to_the_bucket(tmp_path):
    """What the CLI's warning suggests: 'Acknowledge with SingleNotificationPathGuard::<rule>'."""
    app = new_app(tmp_path)
    stack = Stack(app, "Images")
    function = lambda_.Function(stack, "Thumbnailer", runtime=lambda_.Runtime.PYTHON_3_12,
                                handler="index.handler", code=lambda_.Code.from_inline("def handler(e, c): pass"))
    bucket = s3.Bucket(stack, "Uploads")
    bucket.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(function))
    Validations.of(bucket).acknowledge(Acknowledgment(
        id=f"SingleNotificationPathGuard::{LAMBDA_REVIEW_RULE_NAME}",
        reason="Reviewed: the thumbnailer writes to another bucket and sends nothing to SQS."))
    Validations.of(app).add_plugins(SingleNotificationPathGuard())

    app.synth()

    (report,) = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    assert report["violations"] == []
    (acknowledged,) = report["suppressedViolations"]
    assert acknowledged["ruleName"] == LAMBDA_REVIEW_RULE_NAME
    assert acknowledged["reason"].startswith("Reviewed: the thumbnailer")
