"""planning.py: documents and the pure write plan."""
from __future__ import annotations

import datetime

from ingest_worker.events import ObjectRef
from ingest_worker.messages import DeadLetter, Failed, Processed, Retry
from ingest_worker.planning import (
    FetchedObject,
    Write,
    build_document,
    bulk_item_results,
    doc_id,
    plan_writes,
)

REF = ObjectRef("b", "raw-files/a.txt", "ObjectCreated:Put")


def fetched(owner="m1", etag="e1", version=1000, version_id=None, ref=REF) -> FetchedObject:
    return FetchedObject(owner=owner, ref=ref, doc_id=doc_id(ref.bucket, ref.key),
                         source={"etag": etag, "version_id": version_id,
                                 "last_modified_ms": version, "metadata_only": False},
                         version=version)


def test_doc_id_is_deterministic_per_bucket_and_key():
    assert doc_id("b", "k") == doc_id("b", "k") != doc_id("b", "k2") != doc_id("b2", "k")


def test_build_document_from_a_get_object_answer():
    modified = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.UTC)
    doc = build_document("m", REF, {"ETag": '"abc"', "VersionId": "v1", "ContentLength": 3,
                                    "LastModified": modified, "ContentType": "text/plain"}, "hey")
    assert doc.doc_id == doc_id("b", "raw-files/a.txt") and doc.owner == "m"
    assert doc.version == int(modified.timestamp() * 1000)
    assert doc.source == {
        "bucket": "b", "key": "raw-files/a.txt", "etag": "abc", "version_id": "v1", "size": 3,
        "last_modified": "2024-05-01T12:00:00+00:00", "last_modified_ms": doc.version,
        "content_type": "text/plain", "extension": ".txt", "metadata_only": False,
        "content": "hey"}
    assert build_document("m", REF, {}, None).source["metadata_only"] is True


def test_new_document_is_written():
    f = fetched()
    assert plan_writes([f], {}).writes == (Write(f),)


def test_same_etag_and_version_id_is_unchanged():
    f = fetched(version=2000)
    plan = plan_writes([f], {f.doc_id: {"etag": "e1", "version_id": None,
                                        "last_modified_ms": 1000}})
    assert plan.writes == () and plan.unchanged == (f,)


def test_a_newer_indexed_version_supersedes_an_older_object():
    f = fetched(etag="old", version=1000)
    plan = plan_writes([f], {f.doc_id: {"etag": "new", "last_modified_ms": 5000}})
    assert plan.writes == () and plan.superseded == (f,)


def test_changed_content_of_the_same_second_is_written():
    f = fetched(etag="e2", version=1000)
    plan = plan_writes([f], {f.doc_id: {"etag": "e1", "last_modified_ms": 1000}})
    assert plan.writes == (Write(f),)


def test_duplicates_in_one_round_give_one_write_of_the_newest_copy():
    old, new, again = fetched("m1", "e1", 1000), fetched("m2", "e2", 3000), fetched("m3", "e1", 1000)
    other = fetched("m4", ref=ObjectRef("b", "raw-files/other.txt", "ObjectCreated:Put"))
    plan = plan_writes([old, new, again, other], {})
    assert plan.writes == (Write(new, (old, again)), Write(other))


def test_bulk_results_map_back_to_every_copy():
    a, dup = fetched("m1", version=2000), fetched("m2", version=1000)
    b = fetched("m3", ref=ObjectRef("b", "raw-files/b.txt", "ObjectCreated:Put"))
    c = fetched("m4", ref=ObjectRef("b", "raw-files/c.txt", "ObjectCreated:Put"))
    d = fetched("m5", ref=ObjectRef("b", "raw-files/d.txt", "ObjectCreated:Put"))
    items = [{"status": 201}, {"status": 409, "error": {"type": "version_conflict_engine_exception"}},
             {"status": 429, "error": {"type": "es_rejected_execution_exception"}},
             {"status": 400, "error": {"type": "mapper_parsing_exception", "reason": "bad"}}]
    results = bulk_item_results([Write(a, (dup,)), Write(b), Write(c), Write(d)], items)
    assert [(f.owner, r) for f, r in results] == [
        ("m1", Processed(a.ref, "indexed")), ("m2", Processed(dup.ref, "unchanged")),
        ("m3", Processed(b.ref, "unchanged")),
        ("m4", Failed(c.ref, Retry("es_rejected_execution_exception"))),
        ("m5", Failed(d.ref, DeadLetter("index_rejected", "mapper_parsing_exception: bad")))]
