"""fetch.py: GetObject on moto's S3, and how S3 failures are classified."""
from __future__ import annotations

import pytest
from ingest_worker.events import ObjectRef, PoisonMessage
from ingest_worker.fetch import ObjectFetcher, error_code
from ingest_worker.messages import RetryLater


def ref(aws, key: str) -> ObjectRef:
    return ObjectRef(aws.bucket, key, "ObjectCreated:Put")


def test_text_objects_are_read_and_large_or_binary_ones_are_metadata_only(aws):
    aws.put("raw-files/a.txt", b"hello")
    aws.put("raw-files/big.txt", b"x" * 100)
    aws.put("raw-files/pic.png", b"\x89PNG")
    fetcher = ObjectFetcher(aws.s3, max_object_bytes=50)
    small = fetcher.fetch("m", ref(aws, "raw-files/a.txt"))
    assert small.source["content"] == "hello" and small.owner == "m"
    for key in ("raw-files/big.txt", "raw-files/pic.png"):
        doc = fetcher.fetch("m", ref(aws, key))
        assert doc.source["metadata_only"] is True and "content" not in doc.source


def test_missing_object_or_bucket_is_poison_other_errors_are_retried(aws):
    fetcher = ObjectFetcher(aws.s3, max_object_bytes=50)
    with pytest.raises(PoisonMessage) as exc:
        fetcher.fetch("m", ref(aws, "raw-files/never-there.txt"))
    assert exc.value.reason == "object_missing"
    with pytest.raises(PoisonMessage) as exc:
        fetcher.fetch("m", ObjectRef("no-such-bucket-x1", "raw-files/a.txt", "ObjectCreated:Put"))
    assert exc.value.reason == "bucket_missing"

    def throttle(**_):
        from botocore.exceptions import ClientError
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow"}}, "GetObject")

    aws.s3.meta.events.register("before-call.s3.GetObject", throttle)
    with pytest.raises(RetryLater) as exc:
        fetcher.fetch("m", ref(aws, "raw-files/a.txt"))
    assert exc.value.code == "SlowDown" and error_code(ValueError()) == "ValueError"
