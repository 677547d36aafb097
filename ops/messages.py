"""Receiving, holding, releasing and re-sending SQS messages without losing any.

Reading a queue always counts: every ReceiveMessage raises the message's
ApproximateReceiveCount. Nothing can read an SQS message without receiving it. So:
- messages are received with a short visibility and *released* (visibility 0) as soon as they
  have been read, so other consumers see them again at once;
- the dead-letter queue is only read when it has no redrive policy of its own (checked live):
  then a raised receive count can never move a message anywhere;
- a message is deleted only after what replaces it (a copy on another queue, a line in a
  fsync'ed archive) is confirmed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ops.aws import OpsError
from ops.reasons import MAX_RECEIVE_COUNT as NO_REASON  # no `reason` attribute: SQS moved it

BATCH = 10


def receive(sqs: Any, url: str, *, visibility: int, wait: int = 1) -> list[dict]:
    return sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=BATCH, VisibilityTimeout=visibility,
        WaitTimeSeconds=wait, MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"]).get("Messages", [])


def release(sqs: Any, url: str, receipts: list[str]) -> list[str]:
    """Make held messages visible again; returns the errors (empty when all were released)."""
    errors = []
    for start in range(0, len(receipts), BATCH):
        chunk = receipts[start:start + BATCH]
        result = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0} for i, r in enumerate(chunk)])
        errors += [f"{f.get('Code')}: {f.get('Message', '')}" for f in result.get("Failed", [])]
    return errors


def delete(sqs: Any, url: str, messages: list[dict]) -> list[str]:
    errors = []
    for start in range(0, len(messages), BATCH):
        chunk = messages[start:start + BATCH]
        result = sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
        errors += [f"{chunk[int(f['Id'])]['MessageId']}: {f.get('Code')}"
                   for f in result.get("Failed", [])]
    return errors


def reason_of(message: dict) -> str:
    attribute = message.get("MessageAttributes", {}).get("reason")
    return attribute.get("StringValue", "?") if attribute else NO_REASON


def sendable_attributes(message: dict) -> dict[str, dict]:
    """MessageAttributes as received, in the shape SendMessage accepts."""
    out = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        entry = {"DataType": value["DataType"]}
        for key in ("StringValue", "BinaryValue"):
            if key in value:
                entry[key] = value[key]
        out[name] = entry
    return out


def send_verified(sqs: Any, url: str, body: str, attributes: dict[str, dict]) -> str:
    """Send one message and check SQS stored the body we sent; returns the new message id."""
    kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
    if attributes:
        kwargs["MessageAttributes"] = attributes
    result = sqs.send_message(**kwargs)
    if result.get("MD5OfMessageBody") != hashlib.md5(body.encode("utf-8")).hexdigest():
        raise OpsError(f"SQS acknowledged message {result.get('MessageId')} with a body checksum "
                       "that differs from what was sent; stopping before deleting the original")
    return result["MessageId"]


@dataclass
class ReasonSummary:
    depth: int  # visible + in flight, from the queue's attributes
    sampled: int = 0
    reasons: Counter = field(default_factory=Counter)
    oldest_sent_ms: int | None = None
    max_receive_count: int = 0
    release_errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if not self.depth and not self.sampled:
            return ["DLQ is empty"]
        scope = "all" if self.sampled >= self.depth else f"a sample of {self.sampled}"
        out = [f"DLQ holds {self.depth} message(s); reasons in {scope}:"]
        out += [f"  {count:6d}  {reason}" for reason, count in self.reasons.most_common()]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"depth": self.depth, "sampled": self.sampled, "reasons": dict(self.reasons),
                "oldest_sent_ms": self.oldest_sent_ms, "max_receive_count": self.max_receive_count,
                "release_errors": self.release_errors}


def ensure_no_redrive(attributes: dict[str, str], what: str) -> None:
    if attributes.get("RedrivePolicy"):
        raise OpsError(f"the {what} has a redrive policy ({attributes['RedrivePolicy']}): "
                       "reading its messages raises their receive count and could move them "
                       "on, so ops does not read it. Remove that policy (the templates declare none).")


def depth_of(attributes: dict[str, str]) -> int:
    return int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
        attributes.get("ApproximateNumberOfMessagesNotVisible", 0))


def summarize_reasons(sqs: Any, url: str, *, limit: int, hold_seconds: int = 30) -> ReasonSummary:
    """Count the `reason` attribute of up to `limit` DLQ messages, then release them all.

    Each message read this way gets one more receive on the DLQ (harmless there: no redrive
    policy, checked first) and is invisible to others for at most `hold_seconds`."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    ensure_no_redrive(attributes, "dead-letter queue")
    summary = ReasonSummary(depth=depth_of(attributes))
    with held(sqs, url, summary.release_errors) as holding:
        while len(holding) < limit:
            batch = receive(sqs, url, visibility=hold_seconds)
            if not batch:
                break
            for message in batch:
                seen_before = message["MessageId"] in holding
                holding[message["MessageId"]] = message["ReceiptHandle"]  # the newest handle
                if seen_before:
                    continue
                summary.reasons[reason_of(message)] += 1
                system = message.get("Attributes", {})
                sent = int(system.get("SentTimestamp", 0)) or None
                if sent and (summary.oldest_sent_ms is None or sent < summary.oldest_sent_ms):
                    summary.oldest_sent_ms = sent
                summary.max_receive_count = max(summary.max_receive_count,
                                                int(system.get("ApproximateReceiveCount", 0)))
        summary.sampled = len(holding)
    return summary


@contextmanager
def held(sqs: Any, url: str, errors: list[str]) -> Iterator[dict[str, str]]:
    """Messages put in the yielded dict (message id -> its newest receipt handle: an older
    handle of a message received again cannot release it) are released on the way out."""
    receipts: dict[str, str] = {}
    try:
        yield receipts
    finally:
        errors.extend(release(sqs, url, list(receipts.values())))


def archive_line(message: dict) -> str:
    """One JSONL line that `replay` can send back as it was (binary attributes in base64)."""
    attributes = {}
    for name, value in sendable_attributes(message).items():
        if "BinaryValue" in value:
            value = {"DataType": value["DataType"],
                     "BinaryValueBase64": base64.b64encode(value["BinaryValue"]).decode()}
        attributes[name] = value
    return json.dumps({
        "MessageId": message["MessageId"],
        "Body": message["Body"],
        "MessageAttributes": attributes,
        "Attributes": message.get("Attributes", {}),
    }, sort_keys=True)


def attributes_from_archive(attributes: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for name, value in attributes.items():
        if "BinaryValueBase64" in value:
            value = {"DataType": value["DataType"],
                     "BinaryValue": base64.b64decode(value["BinaryValueBase64"])}
        out[name] = value
    return out
