"""Out-of-band change rules (stacks/monitoring/change_watch.py): what they match, what they
leave to deploys, and that the notification guard passes them (they target a topic) while
refusing the very same rule aimed at the queue."""

from __future__ import annotations

import copy

import pytest

from checks.notification_guard import find_duplicate_paths
from environments import ENVIRONMENTS
from tests.support.event_pattern import matches
from tests.support.incident_replay import Environment, deploy_calls, object_deleted, user_call
from tests.support.templates import resources_of_type

RULES = ("bucket-notification-changed", "queue-changed", "queue-target-added", "trail-changed",
         "raw-key-changed", "bucket-policy-changed", "fleet-size-changed", "access-logs-deleted")
# Rules on S3's own events rather than CloudTrail records.
S3_EVENT_RULES = {"access-logs-deleted": "Object Deleted"}


def rules(synthesized, env: str) -> dict[str, tuple[str, dict]]:
    found = resources_of_type(synthesized.templates[env]["Monitoring"], "AWS::Events::Rule")
    prefix = ENVIRONMENTS[env].name_prefix + "-"
    return {r["Properties"]["Name"].removeprefix(prefix): (lid, r) for lid, r in found.items()}


def test_every_environment_watches_every_kind_of_change(synthesized, env):
    found = rules(synthesized, env)
    assert sorted(found) == sorted(RULES)
    for _, rule in found.values():
        (target,) = rule["Properties"]["Targets"]
        # The critical topic, through the Alerts stack's output.
        assert target["Arn"]["Fn::GetStackOutput"]["StackName"] == f"file-search-{env}-alerts"
    for short, (_, rule) in found.items():
        assert rule["Properties"]["EventPattern"]["detail-type"] == [
            S3_EVENT_RULES.get(short, "AWS API Call via CloudTrail")]


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


def kms_call(names: dict[str, str], event_name: str, key_arn: str, **params) -> dict:
    """A KMS record: `resources` names the key by ARN whatever the caller passed as keyId."""
    event = user_call(names, "kms", event_name, **params)
    event["detail"]["resources"] = [{"accountId": "111122223333", "type": "AWS::KMS::Key",
                                     "ARN": key_arn}]
    return event


def test_what_the_watchers_and_the_fleet_depend_on_is_reported(prod):
    """#22: the trail, the raw files' key, the bucket policy and the group's sizes."""
    n = prod.names
    for name in ("StopLogging", "DeleteTrail", "PutEventSelectors"):
        assert matching(prod, user_call(n, "cloudtrail", name, name="management-events")) == [
            "trail-changed"]
    for name in ("DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"):
        assert matching(prod, kms_call(n, name, n["key_arn"], keyId="1234abcd")) == [
            "raw-key-changed"]
        # The queues' key: disabled, S3 can no longer deliver a notification.
        assert matching(prod, kms_call(n, name, n["queue_key_arn"], keyId="5678efgh")) == [
            "raw-key-changed"]
    for name in ("PutBucketPolicy", "DeleteBucketPolicy"):
        assert matching(prod, user_call(n, "s3", name, bucketName=n["bucket"])) == [
            "bucket-policy-changed"]
    assert matching(prod, user_call(n, "autoscaling", "UpdateAutoScalingGroup",
                                    autoScalingGroupName=n["group"], maxSize=0)) == [
        "fleet-size-changed"]
    assert matching(prod, user_call(n, "autoscaling", "SetDesiredCapacity",
                                    autoScalingGroupName=n["group"], desiredCapacity=0)) == [
        "fleet-size-changed"]


def test_other_keys_buckets_groups_and_harmless_calls_are_not_reported(prod):
    n = prod.names
    other_key = n["key_arn"].rsplit("/", 1)[0] + "/another-key"
    assert matching(prod, kms_call(n, "DisableKey", other_key, keyId="another-key")) == []
    assert matching(prod, kms_call(n, "EnableKey", n["key_arn"], keyId="1234abcd")) == []
    assert matching(prod, user_call(n, "s3", "PutBucketPolicy", bucketName="another-bucket")) == []
    assert matching(prod, user_call(n, "autoscaling", "SetDesiredCapacity",
                                    autoScalingGroupName="another-group", desiredCapacity=0)) == []
    assert matching(prod, user_call(n, "cloudtrail", "StartLogging", name="t")) == []


def test_cloudformation_writing_the_key_policy_bucket_policy_or_group_is_not_reported(prod):
    n = prod.names
    for event in (kms_call(n, "PutKeyPolicy", n["key_arn"], keyId="1234abcd"),
                  user_call(n, "s3", "PutBucketPolicy", bucketName=n["bucket"]),
                  user_call(n, "autoscaling", "UpdateAutoScalingGroup",
                            autoScalingGroupName=n["group"], maxSize=10)):
        event["detail"]["sourceIPAddress"] = "cloudformation.amazonaws.com"
        assert matching(prod, event) == [], event["detail"]["eventName"]


def test_access_logs_deleted_by_a_call_are_reported_and_their_expiry_is_not(prod):
    """The evidence: S3's own "Object Deleted" events of the access-log bucket (EventBridge is on
    for that bucket only). The lifecycle's expiry and other buckets' deletes are not reported."""
    n = prod.names
    for deletion_type in ("Delete Marker Created", "Permanently Deleted"):
        assert matching(prod, object_deleted(n["access_logs"], "raw-bucket/2026-12-06-00-00-00-AB",
                                             deletion_type=deletion_type)) == ["access-logs-deleted"]
    assert matching(prod, object_deleted(n["access_logs"], "raw-bucket/2025-12-06-00-00-00-AB",
                                         reason="Lifecycle Expiration")) == []
    assert matching(prod, object_deleted(n["bucket"], "raw-files/a.pdf")) == []
    assert matching(prod, object_deleted("someone-elses-bucket", "x")) == []
    created = object_deleted(n["access_logs"], "raw-bucket/2026-12-06-00-00-00-AB")
    created.update({"detail-type": "Object Created"})
    created["detail"]["reason"] = "PutObject"
    assert matching(prod, created) == []
