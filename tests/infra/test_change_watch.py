"""Out-of-band change rules (stacks/monitoring/change_watch.py): what they match, what they
leave to deploys, and that the notification guard passes them (they target a topic) while
refusing the very same rule aimed at the queue."""

from __future__ import annotations

import copy

import pytest

from checks.notification_guard import find_duplicate_paths
from environments import ENVIRONMENTS
from tests.support.event_pattern import matches
from tests.support.incident_replay import Environment, deploy_calls, user_call
from tests.support.templates import resources_of_type

RULES = ("bucket-notification-changed", "queue-changed", "queue-target-added")


def rules(synthesized, env: str) -> dict[str, tuple[str, dict]]:
    found = resources_of_type(synthesized.templates[env]["Monitoring"], "AWS::Events::Rule")
    prefix = ENVIRONMENTS[env].name_prefix + "-"
    return {r["Properties"]["Name"].removeprefix(prefix): (lid, r) for lid, r in found.items()}


def test_every_environment_watches_the_three_kinds_of_change(synthesized, env):
    found = rules(synthesized, env)
    assert sorted(found) == sorted(RULES)
    for _, rule in found.values():
        (target,) = rule["Properties"]["Targets"]
        # The critical topic, through the Alerts stack's output.
        assert target["Arn"]["Fn::GetStackOutput"]["StackName"] == f"file-search-{env}-alerts"
        assert rule["Properties"]["EventPattern"]["detail-type"] == ["AWS API Call via CloudTrail"]


def _with_stack_names(synthesized, env: str, templates: dict) -> tuple[dict, dict]:
    return templates, synthesized.stack_ids(env)


def test_the_guard_passes_the_rules_and_refuses_the_same_rule_aimed_at_the_queue(synthesized):
    templates, names = _with_stack_names(synthesized, "prod", synthesized.templates["prod"])
    assert find_duplicate_paths(templates, names) == []

    broken = copy.deepcopy(templates)
    found = rules(synthesized, "prod")
    lid, _ = found["bucket-notification-changed"]
    # The main queue's ARN as the Monitoring stack already reads it (for queue-target-added).
    queue_arn = found["queue-target-added"][1]["Properties"]["EventPattern"]["detail"]["$or"][1][
        "requestParameters"]["target"][0]
    broken["Monitoring"]["Resources"][lid]["Properties"]["Targets"][0]["Arn"] = queue_arn
    (violation,) = find_duplicate_paths(broken, names)
    assert any("EventBridge rule prod/Monitoring/OutOfBandChanges/bucket-notification-changed"
               in p.description for p in violation.paths), violation.message


@pytest.fixture(scope="module")
def prod(synthesized) -> Environment:
    return Environment(synthesized, "prod")


def matching(prod: Environment, event: dict) -> list[str]:
    return [short for short, (pattern, _) in prod.rules.items() if matches(pattern, event)]


def test_a_person_changing_each_watched_thing_is_reported(prod):
    n = prod.names
    assert matching(prod, user_call(n, "s3", "PutBucketNotificationConfiguration",
                                    bucketName=n["bucket"])) == ["bucket-notification-changed"]
    assert matching(prod, user_call(n, "s3", "PutBucketNotification",
                                    bucketName=n["bucket"])) == ["bucket-notification-changed"]
    for name in ("SetQueueAttributes", "AddPermission", "RemovePermission"):
        assert matching(prod, user_call(n, "sqs", name, queueUrl=n["main_url"])) == ["queue-changed"]
    assert matching(prod, user_call(n, "events", "PutTargets", rule="r", targets=[
        {"id": "a", "arn": "arn:aws:sns:eu-west-1:111122223333:other"},
        {"id": "b", "arn": n["main_arn"]}])) == ["queue-target-added"]
    for name in ("CreatePipe", "UpdatePipe"):
        assert matching(prod, user_call(n, "pipes", name, name="p", target=n["main_arn"])) == [
            "queue-target-added"]


def test_unrelated_changes_are_not_reported(prod):
    n = prod.names
    assert matching(prod, user_call(n, "s3", "PutBucketNotificationConfiguration",
                                    bucketName="someone-elses-bucket")) == []
    assert matching(prod, user_call(n, "s3", "PutBucketTagging", bucketName=n["bucket"])) == []
    assert matching(prod, user_call(n, "events", "PutTargets", rule="r", targets=[
        {"id": "a", "arn": "arn:aws:sqs:eu-west-1:111122223333:another-queue"}])) == []
    # A pipe that *reads* the main queue is not a second path into it.
    assert matching(prod, user_call(n, "pipes", "CreatePipe", name="p", source=n["main_arn"],
                                    target="arn:aws:sqs:eu-west-1:111122223333:x")) == []


def test_deploys_are_not_reported_but_a_forged_user_agent_is(prod):
    for event in deploy_calls(prod.names):
        assert matching(prod, event) == [], event["detail"]["eventName"]
    forged = user_call(prod.names, "sqs", "SetQueueAttributes", queueUrl=prod.names["main_url"])
    forged["detail"]["userAgent"] = "cloudformation.amazonaws.com"
    assert matching(prod, forged) == ["queue-changed"]
