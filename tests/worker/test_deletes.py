"""Deletes reach the index: an ObjectRemoved event replaces the document with a tombstone that
no search returns, and the newest event of a key wins whatever order the events arrive in."""
from __future__ import annotations

import json
import urllib.request

import pytest
from ingest_worker.fetch import ObjectFetcher
from ingest_worker.index import StoredDocument
from ingest_worker.plan import (
    Write,
    build_tombstone,
    bulk_item_results,
    doc_id,
    plan_writes,
)
from ingest_worker.s3_events import ObjectRef, parse_body, should_index

from harness.local_aws import ACCOUNT_ID, INDEX, wait_for

KEY = "raw-files/report.txt"
CREATE = ObjectRef("b", KEY, "ObjectCreated:Put")
MARKER = ObjectRef("b", KEY, "ObjectRemoved:DeleteMarkerCreated", version_id="dm1")


def upload(sequencer=None, modified_ms=1000, etag="e1", version_id="v1"):
    from ingest_worker.plan import FetchedObject
    return FetchedObject(owner="m", ref=CREATE, doc_id=doc_id("b", KEY), source={
        "bucket": "b", "key": KEY, "etag": etag, "version_id": version_id,
        "sequencer": sequencer, "last_modified_ms": modified_ms, "metadata_only": False,
        "content": "text"})


def removal(sequencer=None, event_time_ms=2000, version_id="dm1"):
    ref = ObjectRef("b", KEY, "ObjectRemoved:DeleteMarkerCreated", version_id=version_id,
                    sequencer=sequencer, event_time_ms=event_time_ms)
    return build_tombstone("m", ref)


def stored(fetched) -> StoredDocument:
    return StoredDocument(source=dict(fetched.source), seq_no=7, primary_term=1)


def existing(fetched):
    return {fetched.doc_id: stored(fetched)}


# -- events ------------------------------------------------------------------------------------

def _body(event_name: str, **obj) -> str:
    return json.dumps({"Records": [{
        "eventSource": "aws:s3", "eventName": event_name, "eventTime": "2026-12-06T18:00:01.250Z",
        "s3": {"bucket": {"name": "b"}, "object": {"key": "raw-files/a+b.txt", **obj}}}]})


def test_a_removal_is_parsed_with_its_time_and_handled_under_the_prefix_only():
    (ref,) = parse_body(_body("ObjectRemoved:DeleteMarkerCreated", versionId="dm",
                              sequencer="0A")).records
    assert ref.removal and ref.key == "raw-files/a b.txt" and ref.version_id == "dm"
    assert ref.event_time_ms == 1796580001250 and ref.size is None
    assert should_index(ref, "raw-files/")
    assert not should_index(ref, "other/")
    (restore,) = parse_body(_body("ObjectRestore:Completed")).records
    assert not restore.removal and not should_index(restore, "raw-files/")


# -- the tombstone and the races (pure) ---------------------------------------------------------

def test_the_tombstone_keeps_only_what_ordering_needs():
    source = removal(sequencer="0B").source
    assert source["deleted"] is True and source["sequencer"] == "0B"
    assert source["version_id"] == "dm1" and source["last_modified_ms"] == 2000
    # Nothing a search matches on: no content, name, extension or type.
    assert not {"content", "extension", "content_type", "size"} & set(source)


def test_a_removal_replaces_the_older_document_against_the_state_it_read():
    indexed = upload(sequencer="0A")
    plan = plan_writes([removal(sequencer="0B")], existing(indexed))
    (write,) = plan.writes
    assert write.document.source["deleted"] is True and write.expected.seq_no == 7


def test_a_removal_of_a_never_indexed_object_still_writes_its_tombstone():
    (write,) = plan_writes([removal(sequencer="0B")], {}).writes
    assert write.expected is None  # created only if still absent


def test_a_late_create_older_than_the_removal_does_not_bring_the_document_back():
    tombstone = removal(sequencer="0B")
    plan = plan_writes([upload(sequencer="0A")], existing(tombstone))
    assert plan.writes == () and len(plan.superseded) == 1


def test_a_late_removal_older_than_the_indexed_version_does_not_remove_it():
    indexed = upload(sequencer="0C", etag="e2", version_id="v2")
    plan = plan_writes([removal(sequencer="0B")], existing(indexed))
    assert plan.writes == () and len(plan.superseded) == 1


def test_a_new_upload_after_the_removal_brings_the_file_back():
    plan = plan_writes([upload(sequencer="0C", version_id="v2")], existing(removal(sequencer="0B")))
    (write,) = plan.writes
    assert write.document.source["content"] == "text" and "deleted" not in write.document.source


def test_sequencers_of_different_lengths_compare_as_numbers():
    # "FF" is 255, "0100" is 256: the removal is newer although it sorts first as text.
    plan = plan_writes([removal(sequencer="0100")], existing(upload(sequencer="FF")))
    assert len(plan.writes) == 1


@pytest.mark.parametrize("order", ["create first", "removal first"])
def test_create_and_removal_in_one_round_write_only_the_newest(order):
    events = [upload(sequencer="0A"), removal(sequencer="0B")]
    if order == "removal first":
        events.reverse()
    (write,) = plan_writes(events, {}).writes
    assert write.document.source["deleted"] is True and len(write.duplicates) == 1


def test_without_sequencers_the_removal_time_is_compared_with_last_modified():
    # moto, and messages `ops reconcile` sends, carry no sequencer.
    late_create = plan_writes([upload(modified_ms=1000)], existing(removal(event_time_ms=2000)))
    assert late_create.writes == ()
    newer_upload = plan_writes([upload(modified_ms=3000)], existing(removal(event_time_ms=2000)))
    assert len(newer_upload.writes) == 1
    late_removal = plan_writes([removal(event_time_ms=2000)], existing(upload(modified_ms=3000)))
    assert late_removal.writes == ()


def test_the_same_removal_twice_writes_once():
    assert plan_writes([removal(sequencer="0B")], existing(removal(sequencer="0B"))).writes == ()


def test_a_written_tombstone_is_reported_as_removed():
    write = Write(removal(sequencer="0B"), None)
    results = bulk_item_results([write], [{"status": 201}])
    ((_, result),) = results.done
    assert result.outcome == "removed"


# -- reading S3 for a removal (moto) ------------------------------------------------------------

def _fetcher(aws) -> ObjectFetcher:
    return ObjectFetcher(aws.s3, max_object_bytes=1000, expected_bucket_owner=ACCOUNT_ID)


def test_a_delete_marker_is_a_tombstone_without_reading_s3(aws):
    calls = []
    aws.s3.meta.events.register("provide-client-params.s3.*",
                                lambda model, **_: calls.append(model.name))
    doc = _fetcher(aws).fetch("m", ObjectRef(aws.bucket, KEY, "ObjectRemoved:DeleteMarkerCreated",
                                              version_id="dm"))
    assert doc.source["deleted"] is True and calls == []


def test_a_permanently_deleted_version_indexes_the_version_the_key_shows_now(make_aws):
    aws = make_aws(versioned=True)
    first = aws.put(KEY, b"first")["VersionId"]
    second = aws.put(KEY, b"second")["VersionId"]
    aws.s3.delete_object(Bucket=aws.bucket, Key=KEY, VersionId=second)
    doc = _fetcher(aws).fetch("m", ObjectRef(aws.bucket, KEY, "ObjectRemoved:Delete",
                                              version_id=second, sequencer="0D"))
    assert doc.source["content"] == "first" and doc.source["version_id"] == first
    assert doc.source["sequencer"] == "0D" and "deleted" not in doc.source


def test_a_removed_delete_marker_brings_the_file_back(make_aws):
    aws = make_aws(versioned=True)
    version = aws.put(KEY, b"restored")["VersionId"]
    marker = aws.s3.delete_object(Bucket=aws.bucket, Key=KEY)["VersionId"]
    aws.s3.delete_object(Bucket=aws.bucket, Key=KEY, VersionId=marker)  # the undelete
    doc = _fetcher(aws).fetch("m", ObjectRef(aws.bucket, KEY, "ObjectRemoved:Delete",
                                              version_id=marker, sequencer="0E"))
    assert doc.source["content"] == "restored" and doc.source["version_id"] == version


def test_the_last_version_deleted_for_good_is_a_tombstone(make_aws):
    aws = make_aws(versioned=True)
    only = aws.put(KEY, b"only")["VersionId"]
    aws.s3.delete_object(Bucket=aws.bucket, Key=KEY, VersionId=only)
    doc = _fetcher(aws).fetch("m", ObjectRef(aws.bucket, KEY, "ObjectRemoved:Delete",
                                              version_id=only, sequencer="0F"))
    assert doc.source["deleted"] is True and doc.source["version_id"] == only


# -- end to end: moto's S3 events, the real worker, the fake's _search ---------------------------

# moto sends no event for a delete marker: the tests' moto process (harness/moto.py) applies
# harness/moto_gaps.py's patch_moto_removal_events before it answers.


# What a search sends (ops search, the search page): tombstones are filtered out.
def _search(fake, key: str) -> list[str]:
    query = {"query": {"bool": {"filter": [{"term": {"key": key}}],
                                "must_not": [{"term": {"deleted": True}}]}}}
    request = urllib.request.Request(f"{fake.url}/{INDEX}/_search", method="POST",
                                     data=json.dumps(query).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return [hit["_id"] for hit in json.loads(response.read())["hits"]["hits"]]


def _notify_created_and_removed(aws) -> None:
    """The raw bucket's one configuration (pipeline_constructs/raw_bucket.py)."""
    aws.s3.put_bucket_notification_configuration(
        Bucket=aws.bucket, NotificationConfiguration={"QueueConfigurations": [{
            "QueueArn": aws.arn(aws.queue_url),
            "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw-files/"}]}},
        }]})


@pytest.mark.parametrize("versioned", [True, False], ids=["delete marker", "plain delete"])
def test_a_deleted_file_leaves_the_search_end_to_end(make_aws, fake_os, run_worker, versioned):
    aws = make_aws(versioned=versioned)
    _notify_created_and_removed(aws)
    kept, deleted = "raw-files/kept.txt", "raw-files/経理/deleted file.txt"
    with run_worker(aws.env(fake_os)) as w:
        aws.put(kept, b"kept")
        aws.put(deleted, b"to be deleted")
        wait_for(lambda: len(w.processed("indexed")) == 2, what="both indexed")
        assert _search(fake_os, deleted) == [doc_id(aws.bucket, deleted)]
        aws.s3.delete_object(Bucket=aws.bucket, Key=deleted)
        wait_for(lambda: w.processed("removed"), what="the removal processed")
        w.stop()
    assert _search(fake_os, deleted) == []
    assert _search(fake_os, kept) == [doc_id(aws.bucket, kept)]
    (removed,) = w.processed("removed")
    assert removed["key"] == deleted
    tombstone = fake_os.docs(INDEX)[doc_id(aws.bucket, deleted)]["source"]
    assert tombstone["deleted"] is True and "content" not in tombstone
    assert aws.drain_dlq() == [] and aws.depth() == 0


def test_a_permanent_version_delete_end_to_end_shows_the_previous_version(
        make_aws, fake_os, run_worker):
    aws = make_aws(versioned=True)
    _notify_created_and_removed(aws)
    with run_worker(aws.env(fake_os)) as w:
        aws.put(KEY, b"first words")
        wait_for(lambda: len(w.processed("indexed")) == 1, what="first indexed")
        second = aws.put(KEY, b"second words")["VersionId"]
        wait_for(lambda: len(w.processed("indexed")) == 2, what="second indexed")
        aws.s3.delete_object(Bucket=aws.bucket, Key=KEY, VersionId=second)
        wait_for(lambda: len([e for e in w.processed() if e["key"] == KEY]) == 3,
                 what="the version delete processed")
        w.stop()
    assert [e["outcome"] for e in w.processed() if e["key"] == KEY] == ["indexed"] * 3
    doc = fake_os.docs(INDEX)[doc_id(aws.bucket, KEY)]["source"]
    assert doc["content"] == "first words" and not doc.get("deleted")
    assert _search(fake_os, KEY) == [doc_id(aws.bucket, KEY)]
