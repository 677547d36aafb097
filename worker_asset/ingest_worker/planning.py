"""Documents and the pure decision of what to write.

Nothing here does I/O. `build_document` turns a GetObject answer into the document source;
`plan_writes(fetched, existing)` decides, from what a round fetched and what the index already
holds, which documents to write and which objects are unchanged; `bulk_item_results` reads the
per-item answer of the `_bulk` request back into one result per fetched object.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime
import hashlib
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import extract
from .events import ObjectRef
from .messages import DeadLetter, Failed, Processed, RecordResult, Retry
from .opensearch import is_transient_status

# The fields of an indexed document that plan_writes compares (read with _mget).
EXISTING_FIELDS = ("etag", "version_id", "last_modified_ms")


def doc_id(bucket: str, key: str) -> str:
    """Deterministic document id: the same object always maps to the same document."""
    return hashlib.sha256(f"{bucket}/{key}".encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class FetchedObject:
    """An object read from S3, ready to index. `owner` is the message it came from (opaque)."""
    owner: Any
    ref: ObjectRef
    doc_id: str
    source: Dict[str, Any]
    version: int  # LastModified in ms: the external version of the write


def build_document(owner: Any, ref: ObjectRef, response: Mapping[str, Any],
                   text: Optional[str]) -> FetchedObject:
    """The document for an object, from its GetObject response and its extracted text."""
    modified = response.get("LastModified")
    if not isinstance(modified, datetime.datetime):
        modified = datetime.datetime.now(datetime.timezone.utc)
    modified_ms = int(modified.timestamp() * 1000)
    source: Dict[str, Any] = {
        "bucket": ref.bucket,
        "key": ref.key,
        "etag": (response.get("ETag") or "").strip('"'),
        "version_id": response.get("VersionId") or None,
        "size": int(response.get("ContentLength") or 0),
        "last_modified": modified.astimezone(datetime.timezone.utc).isoformat(),
        "last_modified_ms": modified_ms,
        "content_type": response.get("ContentType") or None,
        "extension": extract.extension(ref.key) or None,
        "metadata_only": text is None,
    }
    if text is not None:
        source["content"] = text
    return FetchedObject(owner=owner, ref=ref, doc_id=doc_id(ref.bucket, ref.key),
                         source=source, version=max(1, modified_ms))


@dataclasses.dataclass(frozen=True)
class Write:
    """One document write; `duplicates` are other copies of it in the round (same object)."""
    document: FetchedObject
    duplicates: Tuple[FetchedObject, ...] = ()


@dataclasses.dataclass(frozen=True)
class WritePlan:
    writes: Tuple[Write, ...] = ()
    unchanged: Tuple[FetchedObject, ...] = ()  # the index already holds this content
    superseded: Tuple[FetchedObject, ...] = ()  # the index holds a newer version: no write


def _same_content(old: Mapping[str, Any], new: FetchedObject) -> bool:
    return (old.get("etag") == new.source["etag"]
            and old.get("version_id") == new.source["version_id"])


def plan_writes(fetched: Sequence[FetchedObject],
                existing: Mapping[str, Mapping[str, Any]]) -> WritePlan:
    """Decide what to write. `existing` maps doc id -> stored fields (EXISTING_FIELDS).

    One write per document even if several messages of the round name it (duplicates): the
    newest copy is written, the others count as unchanged. Nothing is written when the index
    already holds the same content (same ETag and version id) or a newer version.
    """
    by_id: Dict[str, List[FetchedObject]] = collections.OrderedDict()
    for f in fetched:
        by_id.setdefault(f.doc_id, []).append(f)
    writes: List[Write] = []
    unchanged: List[FetchedObject] = []
    superseded: List[FetchedObject] = []
    for group in by_id.values():
        newest = max(group, key=lambda f: f.version)
        old = existing.get(newest.doc_id)
        if old is not None and _same_content(old, newest):
            unchanged.extend(group)
        elif old is not None and int(old.get("last_modified_ms") or 0) > newest.version:
            superseded.extend(group)
        else:
            writes.append(Write(newest, tuple(f for f in group if f is not newest)))
    return WritePlan(tuple(writes), tuple(unchanged), tuple(superseded))


def bulk_item_results(writes: Sequence[Write],
                      items: Sequence[Mapping[str, Any]]) -> List[Tuple[FetchedObject, RecordResult]]:
    """One result per fetched object from the `_bulk` items (same order as `writes`)."""
    out: List[Tuple[FetchedObject, RecordResult]] = []
    # bulk_index checked that the lengths match; zip(strict=) does not exist on 3.9.
    for write, item in zip(writes, items):  # noqa: B905
        status = int(item.get("status", 0))
        first = write.document
        if 200 <= status < 300:
            outcome = "metadata_only" if first.source["metadata_only"] else "indexed"
            out.append((first, Processed(first.ref, outcome)))
            out.extend((f, Processed(f.ref, "unchanged")) for f in write.duplicates)
            continue
        error = item.get("error") or {}
        etype = error.get("type", f"HTTP{status}") if isinstance(error, dict) else str(error)
        for f in (first,) + write.duplicates:
            result: RecordResult
            if status == 409:  # a newer version of the object is already indexed
                result = Processed(f.ref, "unchanged")
            elif is_transient_status(status):
                result = Failed(f.ref, Retry(etype))
            else:
                result = Failed(f.ref, DeadLetter(
                    "index_rejected", f"{etype}: {str(error.get('reason', ''))[:200]}"
                    if isinstance(error, dict) else etype))
            out.append((f, result))
    return out
