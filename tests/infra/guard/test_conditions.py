"""Paths behind `Fn::If` or a resource `Condition` are followed on every branch.

A second path hidden behind a condition is refused; the two branches of one condition, which
never exist together, are not added up into a false duplicate.
"""

from __future__ import annotations

from checks.notification_guard import find_duplicate_paths, find_lambda_notifications
from tests.infra.guard.templates import arn_of, bucket, queue, queue_configuration, rule

NO_VALUE = {"Ref": "AWS::NoValue"}
ARCHIVE = queue_configuration(arn_of("Q"), "s3:ObjectCreated:Put")


def template(*resources: tuple[str, dict], conditions: dict | None = None) -> dict:
    return {"t.json": {"Conditions": conditions or {"Archive": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
                       "Resources": {"Q": queue(), **dict(resources)}}}


def test_a_second_queue_configuration_inside_an_fn_if_branch_is_refused():
    templates = template(("B", bucket(queue_configuration(arn_of("Q")), {"Fn::If": ["Archive", ARCHIVE, NO_VALUE]})))
    (violation,) = find_duplicate_paths(templates)
    assert len(violation.paths) == 2
    assert violation.paths[1].location == "Properties/NotificationConfiguration/QueueConfigurations/1/Fn::If/1"
    assert "QueueConfiguration #2 on bucket B in t.json (s3:ObjectCreated:Put) [if condition Archive is true]" \
        in violation.message


def test_the_second_configuration_in_the_else_branch_is_refused_too():
    templates = template(("B", bucket(queue_configuration(arn_of("Q")), {"Fn::If": ["Archive", NO_VALUE, ARCHIVE]})))
    (violation,) = find_duplicate_paths(templates)
    assert "[if condition Archive is false]" in violation.message


def test_a_whole_list_under_fn_if_is_followed_on_both_branches():
    configurations = {"Fn::If": ["Archive", [queue_configuration(arn_of("Q"))],
                                 [queue_configuration(arn_of("Q")), ARCHIVE]]}
    templates = template(("B", {"Type": "AWS::S3::Bucket", "Properties": {"NotificationConfiguration": {
        "QueueConfigurations": configurations}}}))
    (violation,) = find_duplicate_paths(templates)
    assert [p.location.rsplit("/", 3)[-3:] for p in violation.paths] == [["Fn::If", "2", "0"], ["Fn::If", "2", "1"]]


def test_the_two_branches_of_one_condition_are_never_a_duplicate():
    either = {"Fn::If": ["Archive", queue_configuration(arn_of("Q"), "s3:ObjectCreated:*"), ARCHIVE]}
    target_either_way = queue_configuration({"Fn::If": ["Archive", arn_of("Q"), arn_of("Q")]})
    assert find_duplicate_paths(template(("B", bucket(either)))) == []
    assert find_duplicate_paths(template(("B", bucket(target_either_way)))) == []


def test_a_queue_target_under_fn_if_is_resolved_on_both_branches():
    switch = queue_configuration({"Fn::If": ["Archive", arn_of("Q"), arn_of("Other")]})
    templates = template(("Other", queue()), ("B1", bucket(queue_configuration(arn_of("Q")))), ("B2", bucket(switch)))
    (violation,) = find_duplicate_paths(templates)
    assert violation.queue_name == "Q in t.json"
    assert "[if condition Archive is true]" in violation.message


def test_a_condition_and_its_negation_exclude_each_other():
    conditions = {"Prod": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}, "NotProd": {"Fn::Not": [{"Condition": "Prod"}]}}
    exclusive = template(
        ("B1", {**bucket(queue_configuration(arn_of("Q"))), "Condition": "Prod"}),
        ("B2", {**bucket(queue_configuration(arn_of("Q"))), "Condition": "NotProd"}),
        conditions=conditions)
    assert find_duplicate_paths(exclusive) == []


def test_resources_under_independent_conditions_may_exist_together():
    conditions = {"Prod": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}, "Archive": {"Fn::Equals": [{"Ref": "A"}, "y"]}}
    templates = template(
        ("B1", {**bucket(queue_configuration(arn_of("Q"))), "Condition": "Prod"}),
        ("R", {**rule({"source": ["aws.s3"]}, arn_of("Q")), "Condition": "Archive"}),
        conditions=conditions)
    (violation,) = find_duplicate_paths(templates)
    assert "[if condition Prod is true]" in violation.message
    assert "[if condition Archive is true]" in violation.message


def test_eventbridge_enabled_under_a_condition_counts_only_with_the_queue_configuration():
    def eventbridge_and_queue(queue_condition, eventbridge_condition):
        return template(("B", {"Type": "AWS::S3::Bucket", "Properties": {"NotificationConfiguration": {
            "QueueConfigurations": [{"Fn::If": ["Archive", *queue_condition]}],
            "EventBridgeConfiguration": {"Fn::If": ["Archive", *eventbridge_condition]}}}}))

    config, enabled = queue_configuration(arn_of("Q")), {"EventBridgeEnabled": True}
    assert find_duplicate_paths(eventbridge_and_queue([config, NO_VALUE], [NO_VALUE, enabled])) == []
    (violation,) = find_duplicate_paths(eventbridge_and_queue([config, NO_VALUE], [enabled, NO_VALUE]))
    assert "EventBridge enabled on bucket" in violation.message


def test_a_lambda_configuration_under_fn_if_is_listed_with_its_condition():
    lambda_config = {"Event": "s3:ObjectCreated:*", "Function": "arn:aws:lambda:eu-west-1:1:function:f"}
    templates = template(("B", {"Type": "AWS::S3::Bucket", "Properties": {"NotificationConfiguration": {
        "LambdaConfigurations": [{"Fn::If": ["Archive", lambda_config, NO_VALUE]}]}}}))
    (notification,) = find_lambda_notifications(templates)
    assert "[if condition Archive is true]" in notification.message


def test_an_sns_subscription_endpoint_under_fn_if_is_followed():
    topic_config = {"Event": "s3:ObjectCreated:*", "Topic": {"Ref": "T"}}
    subscription = {"Type": "AWS::SNS::Subscription", "Properties": {
        "Protocol": "sqs", "TopicArn": {"Ref": "T"},
        "Endpoint": {"Fn::If": ["Archive", arn_of("Other"), arn_of("Q")]}}}
    templates = template(("Other", queue()), ("T", {"Type": "AWS::SNS::Topic"}), ("S", subscription),
                         ("B", bucket(queue_configuration(arn_of("Q")), TopicConfigurations=[topic_config])))
    (violation,) = find_duplicate_paths(templates)
    assert violation.queue_name == "Q in t.json"
    assert "SNS topic T in t.json (notified by bucket B in t.json) subscribed by the queue " \
           "[if condition Archive is false]" in violation.message
