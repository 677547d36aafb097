"""`ops redrive`: DLQ messages back to the main queue, after the reason summary.

By default only what can succeed once the cause is fixed moves (ops/reasons.py: messages SQS
moved after maxReceiveCount and the worker's retryable reasons); `--reason R` picks reasons,
`--all` moves everything with SQS's server-side move task (StartMessageMoveTask, at most --rate
messages/s). Selected messages move one by one: receive from the DLQ, send to the main queue,
verify the stored body's checksum, delete from the DLQ. The others are held while the DLQ is
scanned (so each is read once) and released at the end, or at Ctrl-C.
Refuses while the pipeline would fail or duplicate the messages again (ops/gate.py);
--dry-run is never refused.
"""

from __future__ import annotations

import time
from typing import Any

from contract.outputs import DLQ_ARN, DLQ_URL, MAIN_QUEUE_ARN, MAIN_QUEUE_URL
from ops.aws import Aws, Deployed
from ops.console import Console
from ops.gate import Gate
from ops.interrupt import Interrupt, deferred
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
from ops.reasons import KNOWN, RETRYABLE

HOLD_SECONDS = 900  # non-matching messages stay invisible while the scan goes on
INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C


def redrive(aws: Aws, deployed: Deployed, console: Console, *, gate: Gate, rate: int,
            reasons: list[str] | None, move_all: bool, dry_run: bool, sample: int) -> int:
    selected = set(reasons or RETRYABLE)
    if dry_run:
        for line in gate.preview():
            console.say(line)
    else:
        plan_notes = gate.check("redrive")
    sqs = aws.client("sqs")
    summary = summarize_reasons(sqs, deployed[DLQ_URL], limit=sample)
    for line in summary.lines():
        console.say(line)
    unknown = sorted(set(reasons or ()) - set(KNOWN))
    if unknown:
        console.say(f"note: no message of the worker has reason {', '.join(unknown)} "
                    f"(known: {', '.join(KNOWN)})")
    if summary.depth == 0:
        console.say("Nothing to redrive.")
        return 0
    scope = "" if summary.sampled >= summary.depth else f" (of the {summary.sampled} read)"
    moving = {r: n for r, n in summary.reasons.items() if move_all or r in selected}
    staying = {r: n for r, n in summary.reasons.items() if r not in moving}
    what = "all" if move_all else ("reasons " + ", ".join(sorted(selected)))
    listing = [f"would move{scope}, {what}:"] + [f"  {n:6d}  {r}" for r, n in
                                                 sorted(moving.items())]
    if staying:
        listing += ["would stay (poison or not selected; use --reason R or --all):"]
        listing += [f"  {n:6d}  {r}" for r, n in sorted(staying.items())]
    if dry_run:
        for line in listing:
            console.say(f"dry run: {line}")
        console.say("dry run: nothing was moved")
        return 0
    if move_all:
        console.confirm("\n".join(plan_notes + listing + [
            f"Start a move task of every DLQ message ({summary.depth}) to the main queue of "
            f"{deployed.env}, at most {rate} messages/s."]))
        handle = start_move_task(sqs, source_arn=deployed[DLQ_ARN],
                                 destination_arn=deployed[MAIN_QUEUE_ARN], rate=rate)
        console.say(f"Move task started: {handle}\nWatch it with: aws sqs "
                    f"list-message-move-tasks --source-arn {deployed[DLQ_ARN]}")
        return 0
    if not moving:
        console.say(f"No message{scope} has {what}: nothing to move.")
        return 0
    console.confirm("\n".join(plan_notes + listing + [
        f"Move these DLQ messages to the main queue of {deployed.env} (receive, send, verify, "
        f"delete), at most {rate}/s."]))
    with deferred() as interrupt:
        moved, kept, errors = move_by_reason(sqs, deployed, reasons=selected, rate=rate,
                                             interrupt=interrupt)
    console.say(f"Moved {moved} message(s) with {what}; left {kept} other(s) in the DLQ.")
    for error in errors:
        console.say(f"  error: {error}")
    if interrupt.requested:
        console.say("Interrupted (Ctrl-C): the message in hand was finished, the others were "
                    "released and are visible in the DLQ again. Run the same command to go on.")
        return INTERRUPTED
    return 1 if errors else 0


def start_move_task(sqs: Any, *, source_arn: str, destination_arn: str, rate: int) -> str:
    """SQS's server-side DLQ redrive (one task per queue at a time, at most 500 messages/s)."""
    return sqs.start_message_move_task(SourceArn=source_arn, DestinationArn=destination_arn,
                                       MaxNumberOfMessagesPerSecond=rate)["TaskHandle"]


def move_by_reason(sqs: Any, deployed: Deployed, *, reasons: set[str], rate: int,
                   clock: Any = time, interrupt: Interrupt | None = None
                   ) -> tuple[int, int, list[str]]:
    dlq, main = deployed[DLQ_URL], deployed[MAIN_QUEUE_URL]
    ensure_no_redrive(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"],
                      "dead-letter queue")
    interrupt = interrupt or Interrupt()
    moved, errors = 0, []
    interval = 1.0 / rate
    with held(sqs, dlq, errors) as others:
        while not interrupt.requested:
            batch = receive(sqs, dlq, visibility=HOLD_SECONDS)
            if not batch:
                break
            for message in batch:
                if interrupt.requested or reason_of(message) not in reasons:
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
