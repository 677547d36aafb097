"""Read one object from S3 and build its document; classify S3 failures.

The event names the object: its version (versioned raw bucket) is read, not whatever is newest
by then, and every request passes ExpectedBucketOwner. Objects over the size limit and types
without text extraction are not downloaded: a HeadObject gives their metadata.

A removal becomes a tombstone (planning.build_tombstone) without reading S3, except when one
version was deleted for good (`ObjectRemoved:Delete` with a version id on the versioned bucket):
then the key may still show an older version, or the deleted version was a delete marker (an
undelete), so the worker reads what the key shows now and indexes that, or writes a tombstone
if nothing is left.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict

from . import extract
from .faults import error_code
from .gate import DependencyFault
from .plan import FetchedObject, build_document, build_tombstone
from .s3_events import ObjectRef, PoisonMessage

# The object (or the version the event names) is gone: the message can never succeed.
MISSING_OBJECT_CODES = ("NoSuchKey", "NoSuchVersion", "404", "NotFound")
# The object exists but cannot be read as it is (archived; a malformed version id).
UNREADABLE_OBJECT_CODES = ("InvalidObjectState", "InvalidArgument")


def classify_s3_error(exc: BaseException, ref: ObjectRef) -> Exception:
    """PoisonMessage when the object itself is the problem, else DependencyFault: AccessDenied,
    KMS errors, throttling, 5xx and connection errors are about S3 or our permissions, and the
    event says the object exists."""
    code = error_code(exc)
    if code in MISSING_OBJECT_CODES:
        return PoisonMessage("object_missing", f"s3://{ref.bucket}/{ref.key}"
                             + (f"?versionId={ref.version_id}" if ref.version_id else ""))
    if code == "NoSuchBucket":
        return PoisonMessage("bucket_missing", ref.bucket)
    if code in UNREADABLE_OBJECT_CODES:
        return PoisonMessage("object_unreadable", f"{code}: s3://{ref.bucket}/{ref.key}")
    return DependencyFault(DependencyFault.BUCKET, code, str(exc)[:300])


class ObjectFetcher:
    def __init__(self, s3: Any, max_object_bytes: int, expected_bucket_owner: str) -> None:
        self.s3 = s3
        self.max_object_bytes = max_object_bytes
        self.expected_bucket_owner = expected_bucket_owner

    def downloads(self, ref: ObjectRef) -> bool:
        """Whether the object's content is read (GetObject) or only its metadata (HeadObject).
        The event carries the size: an object over the limit is never requested."""
        too_big = ref.size is not None and ref.size > self.max_object_bytes
        return extract.supported(ref.key) and not too_big

    def fetch(self, owner: Any, ref: ObjectRef) -> FetchedObject:
        """Read the object (or, for a removal, what replaces its document); raises
        PoisonMessage (the object's fault) or DependencyFault."""
        if ref.removal:
            return self._removed(owner, ref)
        return self._read(owner, ref)

    def _removed(self, owner: Any, ref: ObjectRef) -> FetchedObject:
        from botocore.exceptions import BotoCoreError, ClientError

        if ref.event_name != "ObjectRemoved:Delete" or not ref.version_id:
            return build_tombstone(owner, ref)  # a delete marker, or an unversioned delete
        try:
            head = self.s3.head_object(Bucket=ref.bucket, Key=ref.key,
                                       ExpectedBucketOwner=self.expected_bucket_owner)
        except (ClientError, BotoCoreError) as exc:
            problem = classify_s3_error(exc, ref)
            if isinstance(problem, PoisonMessage) and problem.reason == "object_missing":
                return build_tombstone(owner, ref)  # no version left, or a delete marker
            raise problem from None
        # The version the key shows now, ordered as of this removal (its sequencer).
        current = dataclasses.replace(ref, version_id=head.get("VersionId") or None,
                                      size=head.get("ContentLength"))
        document = self._read(owner, current)
        # It shows the key as of this removal: without sequencers (moto, `ops reconcile`)
        # the removal's time orders it, not the older version's LastModified.
        if ref.event_time_ms is not None:
            document.source["last_modified_ms"] = max(document.source["last_modified_ms"],
                                                      ref.event_time_ms)
        return document

    def _read(self, owner: Any, ref: ObjectRef) -> FetchedObject:
        from botocore.exceptions import BotoCoreError, ClientError

        params: Dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key,
                                  "ExpectedBucketOwner": self.expected_bucket_owner}
        if ref.version_id:
            params["VersionId"] = ref.version_id
        download = self.downloads(ref)
        try:
            resp = self.s3.get_object(**params) if download else self.s3.head_object(**params)
        except (ClientError, BotoCoreError) as exc:
            raise classify_s3_error(exc, ref) from None
        text = None
        if download:
            body = resp["Body"]
            try:
                # An event without a size (not sent by S3) is checked against the answer.
                if int(resp.get("ContentLength") or 0) <= self.max_object_bytes:
                    text = extract.extract_text(ref.key, body.read())
            except (BotoCoreError, OSError) as exc:
                raise DependencyFault(DependencyFault.BUCKET, type(exc).__name__,
                                      str(exc)[:300]) from None
            finally:
                body.close()
        return build_document(owner, ref, resp, text)
