"""fetch.py: reads on moto's S3 (the event's version, ExpectedBucketOwner on every request, no
GetObject for objects over the limit) and how S3 failures are classified."""
from __future__ import annotations

import collections

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from ingest_worker.faults import error_code
from ingest_worker.fetch import ObjectFetcher, classify_s3_error
from ingest_worker.gate import DependencyFault
from ingest_worker.s3_events import ObjectRef, PoisonMessage

from harness.local_aws import ACCOUNT_ID


def ref(aws, key: str, **kw) -> ObjectRef:
    return ObjectRef(aws.bucket, key, "ObjectCreated:Put", **kw)


def record_calls(client) -> dict[str, list[dict]]:
    calls: dict[str, list[dict]] = collections.defaultdict(list)

    def note(params, model, **_):
        calls[model.name].append(dict(params))

    client.meta.events.register("provide-client-params.s3.*", note)
    return calls


def test_text_is_read_large_and_binary_objects_only_by_metadata_with_the_owner_check(aws):
    aws.put("raw-files/a.txt", b"hello")
    aws.put("raw-files/big.txt", b"x" * 100)
    aws.put("raw-files/pic.png", b"\x89PNG")
    calls = record_calls(aws.s3)
    fetcher = ObjectFetcher(aws.s3, max_object_bytes=50, expected_bucket_owner=ACCOUNT_ID)
    small = fetcher.fetch("m", ref(aws, "raw-files/a.txt", size=5))
    assert small.source["content"] == "hello" and small.owner == "m"
    big = fetcher.fetch("m", ref(aws, "raw-files/big.txt", size=100))
    pic = fetcher.fetch("m", ref(aws, "raw-files/pic.png", size=4))
    for doc, size in ((big, 100), (pic, 4)):
        assert doc.source["metadata_only"] is True and "content" not in doc.source
        assert doc.source["size"] == size and len(doc.source["etag"]) == 32
    # The event's size keeps the 100-byte object from being requested at all.
    assert [c["Key"] for c in calls["GetObject"]] == ["raw-files/a.txt"]
    assert [c["Key"] for c in calls["HeadObject"]] == ["raw-files/big.txt", "raw-files/pic.png"]
    assert all(c["ExpectedBucketOwner"] == ACCOUNT_ID
               for c in calls["GetObject"] + calls["HeadObject"])


def test_an_event_without_size_is_checked_against_the_answer(aws):
    aws.put("raw-files/big.txt", b"x" * 100)
    fetcher = ObjectFetcher(aws.s3, max_object_bytes=50, expected_bucket_owner=ACCOUNT_ID)
    assert fetcher.fetch("m", ref(aws, "raw-files/big.txt")).source["metadata_only"] is True


def test_the_version_the_event_names_is_read_not_the_newest(make_aws):
    aws = make_aws(versioned=True)
    first = aws.put("raw-files/v.txt", b"first")["VersionId"]
    aws.put("raw-files/v.txt", b"second")
    fetcher = ObjectFetcher(aws.s3, max_object_bytes=50, expected_bucket_owner=ACCOUNT_ID)
    doc = fetcher.fetch("m", ref(aws, "raw-files/v.txt", version_id=first, sequencer="0A"))
    assert doc.source["content"] == "first" and doc.source["version_id"] == first
    assert doc.source["sequencer"] == "0A"


def test_missing_object_or_bucket_is_poison(aws):
    fetcher = ObjectFetcher(aws.s3, max_object_bytes=50, expected_bucket_owner=ACCOUNT_ID)
    with pytest.raises(PoisonMessage) as exc:
        fetcher.fetch("m", ref(aws, "raw-files/never-there.txt"))
    assert exc.value.reason == "object_missing"
    with pytest.raises(PoisonMessage) as exc:  # HeadObject answers a bare 404
        fetcher.fetch("m", ref(aws, "raw-files/never-there.bin"))
    assert exc.value.reason == "object_missing"
    with pytest.raises(PoisonMessage) as exc:
        fetcher.fetch("m", ObjectRef("no-such-bucket-x1", "raw-files/a.txt", "ObjectCreated:Put"))
    assert exc.value.reason == "bucket_missing"


@pytest.mark.parametrize("code,kind", [
    ("NoSuchKey", PoisonMessage), ("NoSuchVersion", PoisonMessage),
    ("InvalidObjectState", PoisonMessage), ("NoSuchBucket", PoisonMessage),
    ("AccessDenied", DependencyFault), ("KMS.DisabledException", DependencyFault),
    ("KMS.KMSInvalidStateException", DependencyFault), ("SlowDown", DependencyFault),
    ("InternalError", DependencyFault), ("ServiceUnavailable", DependencyFault),
])
def test_only_the_objects_own_faults_are_poison(code, kind):
    exc = ClientError({"Error": {"Code": code, "Message": "m"}}, "GetObject")
    assert isinstance(classify_s3_error(exc, ObjectRef("b", "k", "ObjectCreated:Put")), kind)


def test_connection_errors_are_the_dependencys_fault():
    fault = classify_s3_error(EndpointConnectionError(endpoint_url="https://s3"),
                              ObjectRef("b", "k", "ObjectCreated:Put"))
    assert isinstance(fault, DependencyFault) and fault.dependency == "bucket"
    assert fault.code == "EndpointConnectionError" and error_code(ValueError()) == "ValueError"


def test_documents_carry_their_extraction_and_hostile_files_only_a_status(aws):
    import io
    import zipfile

    from tools.make_samples import write_docx
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"<d>" + b" " * (100 << 20) + b"</d>")
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        write_docx(Path(d) / "m.docx", "ja")
        aws.put("raw-files/m.docx", (Path(d) / "m.docx").read_bytes())
    aws.put("raw-files/bomb.docx", bomb.getvalue())
    aws.put("raw-files/big.pdf", b"%PDF" + b"x" * 100)
    calls = record_calls(aws.s3)
    fetcher = ObjectFetcher(aws.s3, max_object_bytes=50, expected_bucket_owner=ACCOUNT_ID,
                            max_bytes_by_kind={"office": 1 << 20, "pdf": 50})
    doc = fetcher.fetch("m", ref(aws, "raw-files/m.docx")).source
    assert doc["extraction"] == "ok" and doc["language"] == "ja" and "議事録" in doc["content"]
    assert doc["title"].startswith("議事録") and doc["content_length"] == len(doc["content"])
    assert doc["metadata_only"] is False and len(doc["content_sha256"]) == 64
    bomb_doc = fetcher.fetch("m", ref(aws, "raw-files/bomb.docx")).source
    assert bomb_doc["extraction"] == "too_large" and bomb_doc["metadata_only"] is True
    assert "content" not in bomb_doc and "expands" in bomb_doc["extraction_error"]
    big = fetcher.fetch("m", ref(aws, "raw-files/big.pdf", size=104)).source
    assert big["extraction"] == "too_large" and big["metadata_only"] is True
    assert [c["Key"] for c in calls["HeadObject"]] == ["raw-files/big.pdf"]
