"""plan.py: documents, which upload is newer, and the pure write plan."""
from __future__ import annotations

import datetime

from ingest_worker.index import StoredDocument
from ingest_worker.outcomes import DeadLetter, Failed, Processed
from ingest_worker.plan import (
    FetchedObject,
    Write,
    build_document,
    bulk_item_results,
    compare_uploads,
    doc_id,
    plan_writes,
)
from ingest_worker.s3_events import ObjectRef

REF = ObjectRef("b", "raw-files/a.txt", "ObjectCreated:Put")


def fetched(owner="m1", etag="e1", modified_ms=1000, version_id=None, sequencer=None,
            ref=REF) -> FetchedObject:
    return FetchedObject(owner=owner, ref=ref, doc_id=doc_id(ref.bucket, ref.key),
                         source={"etag": etag, "version_id": version_id,
                                 "last_modified_ms": modified_ms, "sequencer": sequencer,
                                 "metadata_only": False})


def stored(seq_no=4, **source) -> StoredDocument:
    return StoredDocument(source=source, seq_no=seq_no, primary_term=1)


def test_doc_id_is_deterministic_per_bucket_and_key():
    assert doc_id("b", "k") == doc_id("b", "k") != doc_id("b", "k2") != doc_id("b2", "k")


def test_build_document_from_a_get_object_answer():
    modified = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.UTC)
    ref = ObjectRef("b", "raw-files/a.txt", "ObjectCreated:Put", sequencer="0055AED6DCD90281E5")
    doc = build_document("m", ref, {"ETag": '"abc"', "VersionId": "v1", "ContentLength": 3,
                                    "LastModified": modified, "ContentType": "text/plain"}, "hey")
    assert doc.doc_id == doc_id("b", "raw-files/a.txt") and doc.owner == "m"
    assert doc.source == {
        "bucket": "b", "key": "raw-files/a.txt", "name": "a.txt", "folder": "raw-files",
        "etag": "abc", "version_id": "v1",
        "sequencer": "0055AED6DCD90281E5", "size": 3,
        "last_modified": "2024-05-01T12:00:00+00:00",
        "last_modified_ms": int(modified.timestamp() * 1000),
        "content_type": "text/plain", "extension": ".txt", "metadata_only": False,
        "content": "hey"}
    assert build_document("m", REF, {}, None).source["metadata_only"] is True


def test_sequencers_order_uploads_of_one_second_and_compare_as_padded_hex():
    same_second = {"last_modified_ms": 1000}
    assert compare_uploads({**same_second, "sequencer": "0055AED6DCD90281E6"},
                           {**same_second, "sequencer": "0055AED6DCD90281E5"}) == 1
    # A longer sequencer is compared after left-padding, not as text ("A" > "0F" as text).
    assert compare_uploads({"sequencer": "0F0"}, {"sequencer": "A"}) == 1
    assert compare_uploads({"sequencer": "A", "last_modified_ms": 9},
                           {"sequencer": "A", "last_modified_ms": 1}) == 0
    # Without sequencers on both sides LastModified decides (moto's events have none).
    assert compare_uploads({"last_modified_ms": 2000}, {"last_modified_ms": 1000,
                                                         "sequencer": "FF"}) == 1


def test_new_document_is_created_only_if_still_absent():
    f = fetched()
    assert plan_writes([f], {}).writes == (Write(f, None),)


def test_same_etag_and_version_id_is_unchanged():
    f = fetched(modified_ms=2000)
    plan = plan_writes([f], {f.doc_id: stored(etag="e1", version_id=None, last_modified_ms=1000)})
    assert plan.writes == () and plan.unchanged == (f,)


def test_a_newer_indexed_upload_supersedes_an_older_one():
    f = fetched(etag="old", modified_ms=1000, sequencer="0A")
    newer = stored(etag="new", last_modified_ms=1000, sequencer="0B")
    plan = plan_writes([f], {f.doc_id: newer})
    assert plan.writes == () and plan.superseded == (f,)


def test_a_changed_object_is_written_against_the_state_that_was_read():
    f = fetched(etag="e2", modified_ms=1000, sequencer="0B")
    old = stored(seq_no=9, etag="e1", last_modified_ms=1000, sequencer="0A")
    (write,) = plan_writes([f], {f.doc_id: old}).writes
    assert write == Write(f, old)
    request = write.request("2024-01-01T00:00:00+00:00")
    assert request.expected.seq_no == 9 and request.source["indexed_at"].startswith("2024")


def test_same_second_without_sequencers_is_still_written():
    f = fetched(etag="e2", modified_ms=1000)
    plan = plan_writes([f], {f.doc_id: stored(etag="e1", last_modified_ms=1000)})
    assert len(plan.writes) == 1


def test_duplicates_in_one_round_give_one_write_of_the_newest_copy():
    old = fetched("m1", "e1", 1000, sequencer="01")
    new = fetched("m2", "e2", 1000, sequencer="02")
    again = fetched("m3", "e1", 1000, sequencer="01")
    other = fetched("m4", ref=ObjectRef("b", "raw-files/other.txt", "ObjectCreated:Put"))
    plan = plan_writes([old, new, again, other], {})
    assert plan.writes == (Write(new, None, (old, again)), Write(other, None))


def test_bulk_items_sort_into_results_conflicts_and_refusals():
    a, dup = fetched("m1", modified_ms=2000), fetched("m2", modified_ms=1000)
    b, c, d, e = (fetched(f"m{n}", ref=ObjectRef("b", f"raw-files/{n}.txt", "ObjectCreated:Put"))
                  for n in range(3, 7))
    writes = [Write(a, None, (dup,)), Write(b, None), Write(c, None), Write(d, None),
              Write(e, None)]
    items = [{"status": 201},
             {"status": 409, "error": {"type": "version_conflict_engine_exception"}},
             {"status": 429, "error": {"type": "es_rejected_execution_exception"}},
             {"status": 400, "error": {"type": "mapper_parsing_exception", "reason": "bad"}},
             {"status": 403, "error": {"type": "cluster_block_exception"}}]
    results = bulk_item_results(writes, items)
    assert [(f.owner, r) for f, r in results.done] == [
        ("m1", Processed(a.ref, "indexed")), ("m2", Processed(dup.ref, "unchanged")),
        ("m5", Failed(d.ref, DeadLetter("index_rejected", "mapper_parsing_exception: bad")))]
    assert results.conflicts == (writes[1],)
    assert results.refused == (writes[2], writes[4])
    assert results.refusal == "es_rejected_execution_exception"
