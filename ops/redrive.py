"""`ops redrive`: DLQ messages back to the main queue, after the reason summary.

Default: SQS's server-side move task (StartMessageMoveTask, at most --rate messages/s). With
--reason: only the messages whose `reason` attribute matches, one by one: receive from the DLQ,
send to the main queue, verify the stored body's checksum, delete from the DLQ. The others are
held while the DLQ is scanned (so each is read once) and released at the end.
Refuses while a second notification path exists: redriving into a duplicated pipeline repeats
the incident.
"""

from __future__ import annotations

import time
from typing import Any

from contract.outputs import DLQ_ARN, DLQ_URL, MAIN_QUEUE_ARN, MAIN_QUEUE_URL
from ops.aws import Aws, Deployed, OpsError
from ops.console import Console
from ops.drift import second_paths
from ops.live import read_live
from ops.messages import (
    delete,
    ensure_no_redrive,
    held,
    reason_of,
    receive,
    release,
    send_verified,
    sendable_attributes,
    summarize_reasons,
)

HOLD_SECONDS = 900  # non-matching messages stay invisible while the scan goes on


def redrive(aws: Aws, deployed: Deployed, console: Console, *, rate: int, reason: str | None,
            dry_run: bool, sample: int) -> int:
    live = read_live(aws, deployed)
    paths = second_paths(live)
    if paths:
        raise OpsError(
            "refusing to redrive: S3 events reach the main queue through more than one path, "
            "so redriven work would be duplicated like in the incident:\n  "
            + "\n  ".join(paths)
            + "\nRemove the extra paths first (see `ops drift`), then redrive.")
    if live.unreadable:
        raise OpsError("refusing to redrive: could not check every notification path: "
                       + "; ".join(live.unreadable))
    sqs = aws.client("sqs")
    summary = summarize_reasons(sqs, deployed[DLQ_URL], limit=sample)
    for line in summary.lines():
        console.say(line)
    if summary.depth == 0:
        console.say("Nothing to redrive.")
        return 0
    if dry_run:
        if reason is None:
            console.say(f"dry run: would start a move task for all {summary.depth} message(s) "
                        f"at {rate}/s; nothing was moved")
        else:
            console.say(f"dry run: {summary.reasons.get(reason, 0)} of {summary.sampled} read "
                        f"have reason {reason!r}; nothing was moved")
        return 0
    if reason is None:
        console.confirm(f"Start a move task of every DLQ message ({summary.depth}) to the main "
                        f"queue of {deployed.env}, at most {rate} messages/s.")
        handle = start_move_task(sqs, source_arn=deployed[DLQ_ARN],
                                 destination_arn=deployed[MAIN_QUEUE_ARN], rate=rate)
        console.say(f"Move task started: {handle}\nWatch it with: aws sqs "
                    f"list-message-move-tasks --source-arn {deployed[DLQ_ARN]}")
        return 0
    console.confirm(f"Move the DLQ messages whose reason is {reason!r} to the main queue of "
                    f"{deployed.env} (receive, send, verify, delete), at most {rate}/s.")
    moved, kept, errors = move_by_reason(sqs, deployed, reason=reason, rate=rate)
    console.say(f"Moved {moved} message(s) with reason {reason!r}; left {kept} other(s) in the DLQ.")
    for error in errors:
        console.say(f"  error: {error}")
    return 1 if errors else 0


def start_move_task(sqs: Any, *, source_arn: str, destination_arn: str, rate: int) -> str:
    """SQS's server-side DLQ redrive (one task per queue at a time, at most 500 messages/s)."""
    return sqs.start_message_move_task(SourceArn=source_arn, DestinationArn=destination_arn,
                                       MaxNumberOfMessagesPerSecond=rate)["TaskHandle"]


def move_by_reason(sqs: Any, deployed: Deployed, *, reason: str, rate: int,
                   clock: Any = time) -> tuple[int, int, list[str]]:
    dlq, main = deployed[DLQ_URL], deployed[MAIN_QUEUE_URL]
    ensure_no_redrive(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"],
                      "dead-letter queue")
    moved, errors = 0, []
    interval = 1.0 / rate
    with held(sqs, dlq, errors) as others:
        while True:
            batch = receive(sqs, dlq, visibility=HOLD_SECONDS)
            if not batch:
                break
            for message in batch:
                if reason_of(message) != reason:
                    others[message["MessageId"]] = message["ReceiptHandle"]
                    continue
                started = clock.monotonic()
                try:
                    send_verified(sqs, main, message["Body"], sendable_attributes(message))
                except Exception as error:  # keep it in the DLQ, visible again, and go on
                    errors.append(f"{message['MessageId']}: not moved: {error}")
                    errors += release(sqs, dlq, [message["ReceiptHandle"]])
                    continue
                failures = delete(sqs, dlq, [message])
                if failures:
                    errors += [f"{f} (copied to the main queue but still in the DLQ: it will be "
                               "processed twice, which the worker's idempotent write absorbs)"
                               for f in failures]
                moved += 1
                spare = interval - (clock.monotonic() - started)
                if spare > 0:
                    clock.sleep(spare)
        kept = len(others)
    return moved, kept, errors
