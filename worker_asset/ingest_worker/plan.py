"""Documents and the pure decision of what to write.

Nothing here does I/O. `build_document` turns a GetObject answer into the document source;
`plan_writes(fetched, existing)` decides, from what a round fetched and what the index already
holds, which documents to write (each a conditional write against the state it read) and which
objects are unchanged or superseded by a newer upload; `bulk_item_results` reads the per-item
answer of the `_bulk` request back into final results, conflicts to plan again, and writes the
index refused for now.

Which upload is newer: the event's `sequencer` when both sides have one (it orders the events of
one key, also within S3's one-second LastModified); otherwise LastModified in milliseconds.

A removed object (ObjectRemoved:*) is written as a tombstone (`build_tombstone`): the same
document id, `deleted: true`, no name, content or other searchable field, and the removal's
sequencer. It goes through the same ordering as an upload, so a late create older than the
removal finds a newer tombstone and writes nothing, and a late removal older than the indexed
upload finds a newer document and removes nothing (docs/deletes.md).
"""
from __future__ import annotations

import collections
import dataclasses
import datetime
import functools
import hashlib
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import extraction
from .index import ALIAS_MISSING, DocumentWrite, StoredDocument, is_transient_status
from .outcomes import DeadLetter, Failed, Processed, RecordResult
from .paths import path_fields
from .s3_events import ObjectRef

# The fields of an indexed document that plan_writes compares (read with _mget).
EXISTING_FIELDS = ("etag", "version_id", "last_modified_ms", "sequencer", "deleted",
                   "extractor_version")


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


def build_document(owner: Any, ref: ObjectRef, response: Mapping[str, Any],
                   text: Optional[str],
                   extracted: Optional[extraction.Extraction] = None) -> FetchedObject:
    """The document for an object, from its GetObject/HeadObject answer and extracted text.
    `extracted` adds the extraction's status and the document's own metadata (title, author,
    dates, page count, language, encoding, truncation, extractor version)."""
    modified = response.get("LastModified")
    if not isinstance(modified, datetime.datetime):
        modified = datetime.datetime.now(datetime.timezone.utc)
    source: Dict[str, Any] = {
        "bucket": ref.bucket,
        "key": ref.key,
        **path_fields(ref.key),
        "etag": (response.get("ETag") or "").strip('"'),
        "version_id": response.get("VersionId") or ref.version_id or None,
        "sequencer": ref.sequencer,
        "size": int(response.get("ContentLength") or 0),
        "last_modified": modified.astimezone(datetime.timezone.utc).isoformat(),
        "last_modified_ms": int(modified.timestamp() * 1000),
        "content_type": response.get("ContentType") or None,
        "extension": extraction.extension(ref.key) or None,
        "metadata_only": text is None,
    }
    if extracted is not None:
        source.update(extracted.fields())
    if text is not None:
        source["content"] = text
    return FetchedObject(owner=owner, ref=ref, doc_id=doc_id(ref.bucket, ref.key),
                         source=source)


def build_tombstone(owner: Any, ref: ObjectRef) -> FetchedObject:
    """The document that replaces a removed object's: only what ordering and `ops reconcile`
    need. Without a sequencer its time is the removal's eventTime (a removal has no
    LastModified), compared with the uploads' LastModified."""
    removed_ms = ref.event_time_ms
    if removed_ms is None:
        removed_ms = int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000)
    removed_at = datetime.datetime.fromtimestamp(removed_ms / 1000, datetime.timezone.utc)
    source: Dict[str, Any] = {
        "bucket": ref.bucket,
        "key": ref.key,
        "deleted": True,
        "etag": None,
        # The delete marker's version id (versioned bucket), else None.
        "version_id": ref.version_id,
        "sequencer": ref.sequencer,
        "last_modified": removed_at.isoformat(),
        "last_modified_ms": removed_ms,
    }
    return FetchedObject(owner=owner, ref=ref, doc_id=doc_id(ref.bucket, ref.key), source=source)


def compare_uploads(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    """-1, 0 or 1 as upload a is older than, not distinguishable from, or newer than b.

    Sequencers are hex strings of varying length: compared as numbers (the same as comparing
    them left-padded). Without a sequencer on both sides, LastModified decides; within the same
    millisecond (S3 keeps whole seconds) the uploads cannot be told apart.
    """
    seq_a, seq_b = a.get("sequencer"), b.get("sequencer")
    if seq_a and seq_b:
        x, y = int(seq_a, 16), int(seq_b, 16)
    else:
        x, y = int(a.get("last_modified_ms") or 0), int(b.get("last_modified_ms") or 0)
    return (x > y) - (x < y)


def same_content(stored: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Same bytes, read by the same extractor version: a newer extractor rewrites the document
    (docs/extraction.md, re-extraction)."""
    return (stored.get("etag") == new.get("etag")
            and stored.get("version_id") == new.get("version_id")
            and bool(stored.get("deleted")) == bool(new.get("deleted"))
            and stored.get("extractor_version") == new.get("extractor_version"))


@dataclasses.dataclass(frozen=True)
class Write:
    """One conditional document write; `duplicates` are other copies of it in the round."""
    document: FetchedObject
    expected: Optional[StoredDocument]  # what the index held when planned; None: nothing
    duplicates: Tuple[FetchedObject, ...] = ()

    def request(self, indexed_at: str) -> DocumentWrite:
        return DocumentWrite(self.document.doc_id,
                             dict(self.document.source, indexed_at=indexed_at), self.expected)

    def copies(self) -> Tuple[FetchedObject, ...]:
        return (self.document,) + self.duplicates


@dataclasses.dataclass(frozen=True)
class WritePlan:
    writes: Tuple[Write, ...] = ()
    unchanged: Tuple[FetchedObject, ...] = ()  # the index already holds this content
    superseded: Tuple[FetchedObject, ...] = ()  # the index holds a newer upload: no write


def plan_writes(fetched: Sequence[FetchedObject],
                existing: Mapping[str, StoredDocument]) -> WritePlan:
    """Decide what to write. `existing` maps doc id -> the stored document (EXISTING_FIELDS).

    One write per document even if several messages name it: the newest copy is written, the
    others count as unchanged. Nothing is written when the index already holds the same content
    (same ETag and version id) or a newer upload. Each write is conditional on the stored state
    read here, so that a concurrent writer turns it into a conflict, never a second write.
    """
    by_id: Dict[str, List[FetchedObject]] = collections.OrderedDict()
    for f in fetched:
        by_id.setdefault(f.doc_id, []).append(f)
    newest_first = functools.cmp_to_key(lambda a, b: compare_uploads(a.source, b.source))
    writes: List[Write] = []
    unchanged: List[FetchedObject] = []
    superseded: List[FetchedObject] = []
    for group in by_id.values():
        newest = max(group, key=newest_first)
        stored = existing.get(newest.doc_id)
        if stored is not None and same_content(stored.source, newest.source):
            unchanged.extend(group)
        elif stored is not None and compare_uploads(stored.source, newest.source) > 0:
            superseded.extend(group)
        else:
            writes.append(Write(newest, stored, tuple(f for f in group if f is not newest)))
    return WritePlan(tuple(writes), tuple(unchanged), tuple(superseded))


@dataclasses.dataclass(frozen=True)
class BulkResults:
    done: Tuple[Tuple[FetchedObject, RecordResult], ...] = ()  # final, one per fetched object
    conflicts: Tuple[Write, ...] = ()  # changed meanwhile (409): read again and plan again
    refused: Tuple[Write, ...] = ()  # the index's fault (429, 5xx, write block): write later
    refusal: str = ""  # the error type of the first refused write


def bulk_item_results(writes: Sequence[Write], items: Sequence[Mapping[str, Any]]) -> BulkResults:
    """Sort the `_bulk` items (same order as `writes`) into results, conflicts and refusals."""
    done: List[Tuple[FetchedObject, RecordResult]] = []
    conflicts: List[Write] = []
    refused: List[Write] = []
    refusal = ""
    # bulk_write checked that the lengths match; zip(strict=) does not exist on 3.9.
    for write, item in zip(writes, items):  # noqa: B905
        status = int(item.get("status", 0))
        first = write.document
        if 200 <= status < 300:
            outcome = ("removed" if first.source.get("deleted")
                       else "metadata_only" if first.source["metadata_only"] else "indexed")
            done.append((first, Processed(first.ref, outcome)))
            done.extend((f, Processed(f.ref, "unchanged")) for f in write.duplicates)
            continue
        if status == 409:
            conflicts.append(write)
            continue
        error = item.get("error") or {}
        etype = error.get("type", f"HTTP{status}") if isinstance(error, dict) else str(error)
        if etype == "index_not_found_exception":  # require_alias: the write alias is gone
            etype = ALIAS_MISSING
        if is_transient_status(status) or etype == ALIAS_MISSING:
            refused.append(write)
            refusal = refusal or etype
            continue
        reason = (f"{etype}: {str(error.get('reason', ''))[:200]}"
                  if isinstance(error, dict) else etype)
        done.extend((f, Failed(f.ref, DeadLetter("index_rejected", reason)))
                    for f in write.copies())
    return BulkResults(tuple(done), tuple(conflicts), tuple(refused), refusal)
