"""Settle messages with SQS: delete what is finished, send poison to the DLQ with a reason, give
back what must be retried, change visibility. `settlement` and `retry_delay` are the pure rules."""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple

from .faults import error_code
from .logs import JsonLog
from .outcomes import DeadLetter, Finished, Outcome, ReceivedMessage, Retry
from .stats import Counters

SQS_BATCH = 10
DELETE_ATTEMPTS = 3


def retry_delay(receive_count: int, visibility_timeout: int) -> int:
    """Visibility given back to a message after a transient failure (exponential backoff)."""
    return int(min(visibility_timeout, 300, 2 ** max(1, min(receive_count, 8))))


@dataclasses.dataclass
class Settlement:
    delete: List[ReceivedMessage] = dataclasses.field(default_factory=list)
    dead_letter: List[Tuple[ReceivedMessage, DeadLetter]] = dataclasses.field(default_factory=list)
    retry: List[Tuple[ReceivedMessage, Retry]] = dataclasses.field(default_factory=list)


def settlement(outcomes: Sequence[Tuple[ReceivedMessage, Outcome]]) -> Settlement:
    """Sort messages by what SQS must do with them."""
    s = Settlement()
    for message, outcome in outcomes:
        if isinstance(outcome, Finished):
            s.delete.append(message)
        elif isinstance(outcome, DeadLetter):
            s.dead_letter.append((message, outcome))
        elif isinstance(outcome, Retry):
            s.retry.append((message, outcome))
        else:
            raise TypeError(f"unknown outcome {outcome!r}")
    return s


def dlq_entry(entry_id: str, message: ReceivedMessage, dead: DeadLetter) -> Dict[str, Any]:
    """The DLQ copy: the body unchanged, the reason in message attributes."""
    return {
        "Id": entry_id, "MessageBody": message.body or "(empty)",
        "MessageAttributes": {
            "reason": {"DataType": "String", "StringValue": dead.reason},
            "detail": {"DataType": "String", "StringValue": (dead.detail or "-")[:1000]},
            "source_message_id": {"DataType": "String", "StringValue": message.message_id},
            "receive_count": {"DataType": "Number", "StringValue": str(message.receive_count)},
        }}


def _chunks(items: Sequence[Any]) -> List[Sequence[Any]]:
    return [items[i:i + SQS_BATCH] for i in range(0, len(items), SQS_BATCH)]


class Settler:
    def __init__(self, *, sqs: Any, queue_url: str, dlq_url: str, visibility_timeout: int,
                 log: JsonLog, counters: Counters,
                 on_settled: Callable[[Sequence[ReceivedMessage]], None]) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.dlq_url = dlq_url
        self.visibility_timeout = visibility_timeout
        self.log = log
        self.counters = counters
        self.on_settled = on_settled  # the messages are no longer held

    def settle(self, outcomes: Sequence[Tuple[ReceivedMessage, Outcome]]) -> None:
        s = settlement(outcomes)
        if s.dead_letter:
            s.delete += self.send_to_dlq(s.dead_letter)
        if s.retry:
            self.release(s.retry)
        if s.delete:
            self.delete(s.delete)

    def delete(self, messages: Sequence[ReceivedMessage]) -> None:
        """DeleteMessageBatch in chunks of 10; failed entries are retried, then logged."""
        pending = list(messages)
        last_codes: Dict[str, str] = {}
        for attempt in range(1, DELETE_ATTEMPTS + 1):
            failed: List[ReceivedMessage] = []
            for chunk in _chunks(pending):
                by_id = {str(n): m for n, m in enumerate(chunk)}
                try:
                    resp = self.sqs.delete_message_batch(
                        QueueUrl=self.queue_url,
                        Entries=[{"Id": k, "ReceiptHandle": m.receipt_handle}
                                 for k, m in by_id.items()])
                    errors = [(by_id[f["Id"]], f.get("Code", "Unknown"))
                              for f in resp.get("Failed", [])]
                except Exception as exc:
                    errors = [(m, error_code(exc)) for m in chunk]
                for m, code in errors:
                    last_codes[m.message_id] = code
                    self.log.error("delete_failed",
                                   f"Failed to delete message {m.message_id} "
                                   f"(attempt {attempt}/{DELETE_ATTEMPTS}): {code}",
                                   message_id=m.message_id, code=code, attempt=attempt)
                    failed.append(m)
            self.counters.add("deleted", len(pending) - len(failed))
            if not failed:
                break
            pending = failed
            if attempt < DELETE_ATTEMPTS:
                time.sleep(0.2 * attempt)
        else:
            # It will reappear after the visibility timeout and be found unchanged.
            self.counters.add("delete_given_up", len(pending))
            for m, code in last_codes.items():
                self.log.error("delete_abandoned",
                               f"Failed to delete message {m} after {DELETE_ATTEMPTS} attempts: "
                               f"{code}", message_id=m, code=code, attempts=DELETE_ATTEMPTS)
        self.on_settled(messages)

    def send_to_dlq(self, dead: Sequence[Tuple[ReceivedMessage, DeadLetter]]
                    ) -> List[ReceivedMessage]:
        """Send poison messages to the DLQ with the reason; return those safely there (to be
        deleted). A message the DLQ refused is given back for a retry."""
        sent = []
        for chunk in _chunks(dead):
            entries = [dlq_entry(str(n), m, d) for n, (m, d) in enumerate(chunk)]
            try:
                resp = self.sqs.send_message_batch(QueueUrl=self.dlq_url, Entries=entries)
                failed = {f["Id"]: f.get("Code", "Unknown") for f in resp.get("Failed", [])}
            except Exception as exc:
                failed = {e["Id"]: error_code(exc) for e in entries}
            for n, (m, d) in enumerate(chunk):
                code = failed.get(str(n))
                if code is not None:  # logged once, as message_failed, by release
                    self.release([(m, Retry("DlqSendFailed", f"the DLQ refused it: {code}"))])
                    continue
                self.counters.add("sent_to_dlq")
                self.log.error("sent_to_dlq", f"Sent to the DLQ: {d.detail}",
                               message_id=m.message_id, reason=d.reason,
                               receive_count=m.receive_count)
                sent.append(m)
        return sent

    def release(self, retries: Sequence[Tuple[ReceivedMessage, Retry]]) -> None:
        """Give messages back with a short visibility so they are retried soon."""
        vt = self.visibility_timeout
        for m, retry in retries:
            self.counters.add("transient_failures")
            detail = f"{retry.code}: {retry.detail}" if retry.detail else retry.code
            self.log.warning("message_failed", f"Transient failure, will retry: {detail}",
                             message_id=m.message_id, error=retry.code, transient=True,
                             receive_count=m.receive_count,
                             retry_in_s=retry_delay(m.receive_count, vt))
        messages = [m for m, _ in retries]
        self.change_visibility(messages, lambda m: retry_delay(m.receive_count, vt))
        self.on_settled(messages)

    def give_back(self, messages: Sequence[ReceivedMessage]) -> None:
        """The worker is stopping before these were finished: visible again at once."""
        messages = list(messages)
        self.change_visibility(messages, lambda m: 0)
        self.on_settled(messages)
        self.counters.add("given_back", len(messages))
        self.log.info("messages_given_back", "Stopping: unfinished messages are visible again",
                      count=len(messages))

    def change_visibility(self, messages: Sequence[ReceivedMessage],
                          seconds: Callable[[ReceivedMessage], int]) -> List[ReceivedMessage]:
        """ChangeMessageVisibilityBatch; returns the messages whose change succeeded."""
        ok = []
        for chunk in _chunks(messages):
            by_id = {str(n): m for n, m in enumerate(chunk)}
            try:
                resp = self.sqs.change_message_visibility_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": k, "ReceiptHandle": m.receipt_handle,
                              "VisibilityTimeout": seconds(m)} for k, m in by_id.items()])
                failed = {f["Id"]: f.get("Code", "Unknown") for f in resp.get("Failed", [])}
            except Exception as exc:
                failed = {k: error_code(exc) for k in by_id}
            for k, m in by_id.items():
                if k in failed:
                    self.log.warning("visibility_change_failed",
                                     f"ChangeMessageVisibility failed: {failed[k]}",
                                     message_id=m.message_id, code=failed[k])
                else:
                    ok.append(m)
        return ok
