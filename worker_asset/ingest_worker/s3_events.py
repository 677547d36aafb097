"""Parse SQS message bodies carrying S3 event notifications."""
from __future__ import annotations

import dataclasses
import datetime
import json
from typing import List, Optional
from urllib.parse import unquote_plus


class PoisonMessage(Exception):
    """The message can never succeed; `reason` is the short code sent with it to the DLQ."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class ObjectRef:
    bucket: str
    key: str
    event_name: str
    size: Optional[int] = None
    etag: Optional[str] = None
    version_id: Optional[str] = None
    # Orders the events of one key (hex, compare after left-padding); absent on moto.
    sequencer: Optional[str] = None
    # The record's eventTime in epoch milliseconds: orders a removal (which has no
    # LastModified) against uploads when a sequencer is missing on either side.
    event_time_ms: Optional[int] = None

    @property
    def removal(self) -> bool:
        return self.event_name.startswith("ObjectRemoved:")


@dataclasses.dataclass(frozen=True)
class ParsedMessage:
    test_event: bool
    test_bucket: str = ""
    records: tuple = ()


def parse_body(body: str) -> ParsedMessage:
    """Return the S3 records of a message body, or raise PoisonMessage."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise PoisonMessage("malformed_json", str(exc)[:200]) from None
    if not isinstance(doc, dict):
        raise PoisonMessage("not_s3_event", f"body is a JSON {type(doc).__name__}")
    if doc.get("Event") == "s3:TestEvent":
        return ParsedMessage(test_event=True, test_bucket=str(doc.get("Bucket", "")))
    records = doc.get("Records")
    if not isinstance(records, list) or not records:
        raise PoisonMessage("not_s3_event", "no Records list")
    refs: List[ObjectRef] = []
    for record in records:
        if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
            raise PoisonMessage("not_s3_event", "record is not from aws:s3")
        try:
            s3 = record["s3"]
            bucket = s3["bucket"]["name"]
            obj = s3["object"]
            raw_key = obj["key"]
            event_name = record["eventName"]
        except (KeyError, TypeError):
            raise PoisonMessage("not_s3_event", "record lacks s3.bucket.name/object.key") from None
        if not all(isinstance(v, str) and v for v in (bucket, raw_key, event_name)):
            raise PoisonMessage("not_s3_event", "empty bucket, key or eventName")
        size = obj.get("size")
        sequencer = obj.get("sequencer")
        if sequencer is not None and not (isinstance(sequencer, str) and _is_hex(sequencer)):
            raise PoisonMessage("not_s3_event", f"s3.object.sequencer {sequencer!r} is not hex")
        refs.append(ObjectRef(
            bucket=bucket,
            # S3 URL-encodes keys in notifications with + for spaces.
            key=unquote_plus(raw_key),
            event_name=event_name,
            size=size if isinstance(size, int) else None,
            etag=obj.get("eTag") or None,
            version_id=obj.get("versionId") or None,
            sequencer=sequencer or None,
            event_time_ms=_epoch_ms(record.get("eventTime")),
        ))
    return ParsedMessage(test_event=False, records=tuple(refs))


def _is_hex(value: str) -> bool:
    try:
        int(value, 16)
    except ValueError:
        return False
    return True


def _epoch_ms(value: object) -> Optional[int]:
    """S3's eventTime ("2024-05-01T12:00:00.123Z") in epoch ms; None if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return int(parsed.timestamp() * 1000)


def should_index(ref: ObjectRef, prefix: str) -> bool:
    """ObjectCreated:* (index the object) and ObjectRemoved:* (take it out of the search)
    under the configured prefix; anything else is ignored."""
    return (ref.event_name.startswith(("ObjectCreated:", "ObjectRemoved:"))
            and ref.key.startswith(prefix))
