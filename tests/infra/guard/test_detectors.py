"""Each detector on hand-written templates: what is a path to the queue and what is not."""

from __future__ import annotations

import json

from checks.notification_guard import find_duplicate_paths
from tests.infra.guard.templates import arn_of, bucket, queue, queue_configuration, rule

CLOUDTRAIL_PATTERN = {"source": ["aws.s3"], "detail-type": ["AWS API Call via CloudTrail"],
                      "detail": {"eventName": ["PutBucketNotificationConfiguration"]}}


def test_queues_fed_by_different_buckets_once_each_are_fine():
    templates = {"a.json": {"Resources": {
        "Q1": queue(), "Q2": queue(),
        "B1": bucket(queue_configuration(arn_of("Q1"))), "B2": bucket(queue_configuration(arn_of("Q2")))}}}
    assert find_duplicate_paths(templates) == []


def test_a_rule_for_other_sources_is_not_an_s3_path():
    templates = {"a.json": {"Resources": {
        "Q": queue(), "B": bucket(queue_configuration(arn_of("Q"))),
        "R": rule({"source": ["aws.ec2"]}, arn_of("Q")),
    }}}
    assert find_duplicate_paths(templates) == []


def test_a_rule_without_a_source_filter_counts_as_an_s3_path():
    templates = {"a.json": {"Resources": {
        "Q": queue(), "B": bucket(queue_configuration(arn_of("Q"))),
        "R": rule({"detail-type": ["Object Created"]}, arn_of("Q")),
    }}}
    (violation,) = find_duplicate_paths(templates)
    assert "EventBridge rule" in violation.message


def test_a_cloudtrail_rule_for_s3_api_calls_passes_with_a_topic_and_is_refused_with_the_queue():
    def app(rule_target):
        return {"a.json": {"Resources": {
            "Q": queue(), "T": {"Type": "AWS::SNS::Topic"}, "B": bucket(queue_configuration(arn_of("Q"))),
            "R": rule(json.dumps(CLOUDTRAIL_PATTERN), rule_target)}}}

    assert find_duplicate_paths(app({"Ref": "T"})) == []
    (violation,) = find_duplicate_paths(app(arn_of("Q")))
    assert [p.description for p in violation.paths][1] == "EventBridge rule R in a.json forwarding S3 events"


def test_report_names_template_locations():
    templates = {"a.json": {"Resources": {"Q": queue(), "B": bucket(
        queue_configuration(arn_of("Q")), EventBridgeConfiguration={"EventBridgeEnabled": True})}}}
    (violation,) = find_duplicate_paths(templates)
    locations = [p.location for p in violation.paths]
    assert locations == ["Properties/NotificationConfiguration/QueueConfigurations/0",
                         "Properties/NotificationConfiguration/EventBridgeConfiguration"]
