"""The guard's event-type rule: paths to one queue are duplicates only where one event reaches
both (its type covered by both, its key passing both filters); every other path still counts
as delivering every event."""

from __future__ import annotations

import re

import pytest
from aws_cdk import aws_s3 as s3

from checks.notification_guard import find_duplicate_paths
from contract.s3_event_types import ALL_TYPES, EVENT_TYPES, Delivery, covered, largest_overlapping
from tests.infra.guard.templates import arn_of, bucket, queue, queue_configuration, rule

CREATED, REMOVED = "s3:ObjectCreated:*", "s3:ObjectRemoved:*"


def filtered(event, prefix=None, suffix=None) -> dict:
    config = queue_configuration(arn_of("Q"), event)
    rules = [{"Name": name, "Value": value}
             for name, value in (("prefix", prefix), ("suffix", suffix)) if value is not None]
    if rules:
        config["Filter"] = {"S3Key": {"Rules": rules}}
    return config


def one_bucket(*configurations, **more) -> dict:
    return {"a.json": {"Resources": {"Q": queue(), "B": bucket(*configurations, **more)}}}


def custom_resource(*configurations) -> dict:
    """CDK's shape: one custom resource with the S3 API's field names."""
    return {"a.json": {"Resources": {"Q": queue(), "B": {"Type": "AWS::S3::Bucket"}, "N": {
        "Type": "Custom::S3BucketNotifications", "Properties": {
            "BucketName": {"Ref": "B"}, "NotificationConfiguration": {
                "QueueConfigurations": list(configurations)}}}}}}


# -- positive: not duplicates ------------------------------------------------------------------

def test_one_configuration_with_created_and_removed_is_one_path():
    assert find_duplicate_paths(custom_resource({
        "Events": [CREATED, REMOVED], "QueueArn": arn_of("Q"),
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw-files/"}]}}})) == []


def test_a_created_path_and_a_removed_path_do_not_overlap():
    assert find_duplicate_paths(one_bucket(filtered(CREATED, "raw-files/"),
                                           filtered(REMOVED, "raw-files/"))) == []


@pytest.mark.parametrize("a,b", [
    (("raw-files/a/", None), ("raw-files/b/", None)),  # prefixes no key has both of
    (("raw-files/", ".pdf"), ("raw-files/", ".txt")),  # suffixes no key has both of
], ids=["disjoint prefixes", "disjoint suffixes"])
def test_filters_no_key_passes_together_do_not_overlap(a, b):
    assert find_duplicate_paths(one_bucket(filtered(CREATED, *a), filtered(CREATED, *b))) == []


# -- negative: duplicates, refused --------------------------------------------------------------

@pytest.mark.parametrize("specific", ["s3:ObjectCreated:Put", "s3:ObjectCreated:CompleteMultipartUpload"])
def test_a_wildcard_overlaps_a_specific_type(specific):
    (violation,) = find_duplicate_paths(one_bucket(filtered(CREATED, "raw-files/"),
                                                   filtered(specific, "raw-files/")))
    assert len(violation.paths) == 2 and "delivered 2 times" in violation.message


def test_a_removed_wildcard_overlaps_delete_markers_in_cdk_shape():
    (violation,) = find_duplicate_paths(custom_resource(
        {"Events": [CREATED, REMOVED], "QueueArn": arn_of("Q")},
        {"Events": ["s3:ObjectRemoved:DeleteMarkerCreated"], "QueueArn": arn_of("Q")}))
    assert "ObjectRemoved:DeleteMarkerCreated" in violation.paths[1].description


@pytest.mark.parametrize("a,b", [
    (("raw-files/", None), ("raw-files/archive/", None)),  # one prefix inside the other
    (("raw-files/", ".pdf"), (None, ".pdf")),
    (("raw-files/", None), (None, ".pdf")),  # raw-files/x.pdf passes both
], ids=["nested prefixes", "same suffix", "prefix and suffix"])
def test_filters_one_key_passes_together_overlap(a, b):
    (violation,) = find_duplicate_paths(one_bucket(filtered(CREATED, *a), filtered(CREATED, *b)))
    assert len(violation.paths) == 2


def test_eventbridge_still_duplicates_a_removed_only_configuration():
    (violation,) = find_duplicate_paths(one_bucket(
        filtered(REMOVED, "raw-files/"), EventBridgeConfiguration={"EventBridgeEnabled": True}))
    assert "EventBridge enabled" in violation.paths[1].description


def test_a_rule_still_duplicates_a_created_and_removed_configuration():
    templates = one_bucket(filtered([CREATED, REMOVED], "raw-files/"))
    templates["a.json"]["Resources"]["R"] = rule({"source": ["aws.s3"]}, arn_of("Q"))
    (violation,) = find_duplicate_paths(templates)
    assert len(violation.paths) == 2


def test_an_event_type_the_guard_cannot_read_overlaps_everything():
    unknown = filtered({"Ref": "EventParameter"}, "raw-files/")
    (violation,) = find_duplicate_paths(one_bucket(filtered(REMOVED, "raw-files/"), unknown))
    assert len(violation.paths) == 2
    typo = filtered("s3:ObjectCreate:*", "raw-files/")
    assert len(find_duplicate_paths(one_bucket(filtered(REMOVED, "raw-files/"), typo))) == 1


def test_the_violation_counts_the_paths_one_event_reaches_not_all_paths():
    # Created x2 overlap; the removed-path is a third path to the queue that no created event
    # reaches: the event is delivered twice, not three times.
    (violation,) = find_duplicate_paths(one_bucket(
        filtered(CREATED, "raw-files/"), filtered("s3:ObjectCreated:Copy", "raw-files/"),
        filtered(REMOVED, "raw-files/")))
    assert len(violation.paths) == 2 and "delivered 2 times" in violation.message


# -- the shared rule ----------------------------------------------------------------------------

def test_the_event_types_are_exactly_those_cdk_names():
    """CDK's enum values are its member names in Python; S3's names map onto them."""
    def member_name(event_type: str) -> str:
        words = re.sub(r"(?<!^)(?=[A-Z])", "_", event_type.removeprefix("s3:").replace(":", ""))
        return words.upper()

    # S3 offers no wildcard for its one ACL event type.
    families = {t.rsplit(":", 1)[0] for t in EVENT_TYPES if t.count(":") == 2} - {"s3:ObjectAcl"}
    assert {member_name(t) for t in EVENT_TYPES} | {member_name(f) for f in families} == {
        e.name for e in s3.EventType}
    assert all(covered([f + ":*"]) != ALL_TYPES for f in families)


def test_wildcards_cover_their_family_only():
    assert covered([REMOVED]) == {"s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated"}
    assert not covered([CREATED]) & covered([REMOVED])
    assert covered("s3:LifecycleExpiration:*") == {"s3:LifecycleExpiration:Delete",
                                                   "s3:LifecycleExpiration:DeleteMarkerCreated"}


def test_largest_overlapping_finds_the_biggest_set_one_event_reaches():
    paths = [Delivery(covered([CREATED]), "raw-files/"), Delivery(covered([CREATED]), "raw-files/a/"),
             Delivery(covered(["s3:ObjectCreated:Put"]), "raw-files/a/b/"),
             Delivery(covered([CREATED]), "raw-files/c/"), Delivery(covered([REMOVED]), "")]
    assert largest_overlapping(paths, lambda d: d) == paths[:3]
