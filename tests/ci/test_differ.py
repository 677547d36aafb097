"""The template differ and the stateful gate over small hand-built templates."""

from __future__ import annotations

from tools.differ import MISSING, diff_stack, diff_templates
from tools.render import NO_DIFFERENCES, render_text

from .helpers import modified, queue_template


def only(changes, logical_id):
    [change] = [c for c in changes if c.logical_id == logical_id]
    return change


def test_changed_visibility_timeout_is_a_modified_property_not_a_replacement(template):
    after = modified(template)
    after["Resources"]["MainQueue"]["Properties"]["VisibilityTimeout"] = 300

    resources, sections = diff_templates(template, after)

    queue = only(resources, "MainQueue")
    assert queue.action == "modified"
    assert [(c.path, c.old, c.new) for c in queue.changes] == [("VisibilityTimeout", 900, 300)]
    assert not queue.replaced and not queue.destructive
    assert len(resources) == 1 and sections == []
    text = render_text([diff_stack("dev/Stateful", "file-search-dev-stateful", template, after)],
                       allow_stateful=False)
    assert "[~] AWS::SQS::Queue MainQueue" in text
    assert "[~] VisibilityTimeout: 900 -> 300" in text
    assert "REPLACE" not in text and "BLOCKED" not in text


def test_renamed_queue_is_a_flagged_stateful_replacement(template):
    after = modified(template)
    after["Resources"]["MainQueue"]["Properties"]["QueueName"] = "ingest-main"

    queue = only(diff_templates(template, after)[0], "MainQueue")

    assert queue.replaced and queue.stateful and queue.destructive
    [change] = queue.changes
    assert (change.path, change.old, change.new, change.requires_replacement) == (
        "QueueName", MISSING, "ingest-main", True)
    text = render_text([diff_stack("dev/Stateful", "s", template, after)], allow_stateful=False)
    assert "STATEFUL REPLACE" in text
    assert "[+] QueueName: \"ingest-main\"  (requires replacement)" in text
    assert "dev/Stateful: AWS::SQS::Queue MainQueue replaced (QueueName)" in text
    assert "BLOCKED" in text


def test_nested_property_change_of_replacement_property_is_a_replacement():
    before = queue_template(FifoQueue=False)
    after = queue_template(FifoQueue=True)
    assert only(diff_templates(before, after)[0], "MainQueue").destructive


def test_removed_bucket_is_a_flagged_stateful_deletion(template):
    after = modified(template)
    del after["Resources"]["RawBucket"]

    bucket = only(diff_templates(template, after)[0], "RawBucket")

    assert bucket.action == "removed" and bucket.destructive and not bucket.retained
    assert "[-] AWS::S3::Bucket RawBucket  STATEFUL DELETE" in render_text(
        [diff_stack("dev/Stateful", "s", template, after)], allow_stateful=False)


def test_removed_retained_queue_is_still_flagged_as_orphaned(template):
    after = modified(template)
    del after["Resources"]["MainQueue"]
    queue = only(diff_templates(template, after)[0], "MainQueue")
    assert queue.retained and queue.destructive


def test_changed_type_under_the_same_logical_id_is_a_replacement(template):
    after = modified(template)
    after["Resources"]["Dlq"]["Type"] = "AWS::SNS::Topic"
    dlq = only(diff_templates(template, after)[0], "Dlq")
    assert dlq.type_changed and dlq.replaced and dlq.destructive


def test_log_groups_and_new_stateful_resources_are_not_gated(template):
    after = modified(template)
    del after["Resources"]["Logs"]
    after["Resources"]["NewBucket"] = {"Type": "AWS::S3::Bucket"}
    resources, _ = diff_templates(template, after)
    assert {(r.logical_id, r.action) for r in resources} == {("Logs", "removed"), ("NewBucket", "added")}
    assert not any(r.destructive for r in resources)


def test_no_change_prints_no_differences(template):
    diff = diff_stack("dev/Stateful", "file-search-dev-stateful", template, modified(template))
    assert diff.status == "unchanged" and diff.resources == [] and diff.sections == []
    text = render_text([diff], allow_stateful=False)
    assert "Stack dev/Stateful (file-search-dev-stateful): no differences" in text
    assert NO_DIFFERENCES in text


def test_cdk_bookkeeping_is_not_a_difference(template):
    after = modified(template)
    after["Resources"]["CDKMetadata"]["Properties"]["Analytics"] = "v2:deflate64:B"
    after["Resources"]["MainQueue"]["Metadata"]["aws:cdk:path"] = "elsewhere"
    assert diff_stack("dev/Stateful", "s", template, after).status == "unchanged"


def test_deletion_policy_and_list_elements_and_outputs_are_reported(template):
    after = modified(template)
    after["Resources"]["Dlq"]["DeletionPolicy"] = "Retain"
    after["Resources"]["MainQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] = 3
    after["Outputs"]["DlqUrl"] = {"Value": {"Ref": "Dlq"}}

    resources, sections = diff_templates(template, after)

    assert [c.path for c in only(resources, "Dlq").changes] == ["[DeletionPolicy]"]
    assert [c.path for c in only(resources, "MainQueue").changes] == ["RedrivePolicy.maxReceiveCount"]
    assert [(s.section, s.key, s.action) for s in sections] == [("Outputs", "DlqUrl", "added")]


def test_new_and_removed_stacks(template):
    new = diff_stack("dev/Fleet", "file-search-dev-fleet", None, template)
    gone = diff_stack("dev/Stateful", "file-search-dev-stateful", template, None)
    assert new.status == "added" and not new.destructive
    assert gone.status == "removed"
    assert {r.logical_id for r in gone.destructive} == {"MainQueue", "Dlq", "RawBucket"}
