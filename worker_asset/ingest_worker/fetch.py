"""Read one object from S3 and build its document; classify S3 failures.

The event names the object: its version (versioned raw bucket) is read, not whatever is newest
by then, and every request passes ExpectedBucketOwner. Objects over their kind's size limit and
types without an extractor are not downloaded: a HeadObject gives their metadata. A downloaded
object is streamed to a temporary file and extracted in the sandbox (extraction/); whatever the
file does there, the object gets its document, with the `extraction` status saying why it has no
text.

A removal becomes a tombstone (plan.build_tombstone) without reading S3, except when one
version was deleted for good (`ObjectRemoved:Delete` with a version id on the versioned bucket):
then the key may still show an older version, or the deleted version was a delete marker (an
undelete), so the worker reads what the key shows now and indexes that, or writes a tombstone
if nothing is left.
"""
from __future__ import annotations

import dataclasses
import tempfile
from typing import Any, Dict, Mapping, Optional

from . import extraction
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


_CHUNK = 1 << 20


class ObjectFetcher:
    def __init__(self, s3: Any, max_object_bytes: int, expected_bucket_owner: str,
                 extractor: Any = None, max_bytes_by_kind: Optional[Mapping[str, int]] = None,
                 tmp_dir: Optional[str] = None) -> None:
        """`extractor` has `extract(path, key) -> Extraction`: the worker passes the sandboxed
        pool; without one, extraction runs in this process (tests). `max_object_bytes` is the
        limit for text files, `max_bytes_by_kind` those of the other size classes."""
        from .extraction.sandbox import InlineExtractor

        self.s3 = s3
        self.max_object_bytes = max_object_bytes
        self.expected_bucket_owner = expected_bucket_owner
        self.extractor = extractor or InlineExtractor()
        self.max_bytes = dict(max_bytes_by_kind or {})
        self.tmp_dir = tmp_dir

    def size_limit(self, key: str) -> Optional[int]:
        """The largest object of this key's kind that is extracted; None: no extractor."""
        kind = extraction.kind_of(key)
        if kind is None:
            return None
        size_class = extraction.SIZE_CLASSES[kind]
        if size_class == "text":
            return self.max_object_bytes
        return self.max_bytes.get(size_class, self.max_object_bytes)

    def downloads(self, ref: ObjectRef) -> bool:
        """Whether the object's content is read (GetObject) or only its metadata (HeadObject).
        The event carries the size: an object over the limit is never requested."""
        limit = self.size_limit(ref.key)
        return limit is not None and not (ref.size is not None and ref.size > limit)

    def _not_read(self, ref: ObjectRef, size: int) -> extraction.Extraction:
        limit = self.size_limit(ref.key)
        if limit is None:
            ext = extraction.extension(ref.key)
            return extraction.Extraction(
                status=extraction.UNSUPPORTED,
                error=f"no extractor for {ext or 'files without extension'}")
        return extraction.Extraction(status=extraction.TOO_LARGE,
                                     error=f"{size} bytes is over this kind's limit of {limit}")

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
        size = int(resp.get("ContentLength") or 0)
        result = None
        if download:
            body = resp["Body"]
            try:
                # An event without a size (not sent by S3) is checked against the answer.
                if size <= (self.size_limit(ref.key) or 0):
                    result = self._extract(ref, body)
            finally:
                body.close()
        if result is None:
            result = self._not_read(ref, size)
        return build_document(owner, ref, resp, result.content, result)

    def _extract(self, ref: ObjectRef, body: Any) -> extraction.Extraction:
        """Stream the body to a temporary file (documents can be large) and extract it."""
        from botocore.exceptions import BotoCoreError

        with tempfile.NamedTemporaryFile(dir=self.tmp_dir, prefix="extract-",
                                         suffix=extraction.extension(ref.key)[:16]) as tmp:
            try:
                while True:
                    chunk = body.read(_CHUNK)
                    if not chunk:
                        break
                    tmp.write(chunk)
                tmp.flush()
            except (BotoCoreError, OSError) as exc:
                raise DependencyFault(DependencyFault.BUCKET, type(exc).__name__,
                                      str(exc)[:300]) from None
            return self.extractor.extract(tmp.name, ref.key)
