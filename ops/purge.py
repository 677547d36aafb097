"""`ops purge` and `ops replay`: empty a queue into a local JSONL archive, and send it back.

Purge never calls PurgeQueue: that would also delete messages that arrive after the archive
was written. Each batch is received, written and fsync'ed, and only then deleted, so every
deleted message is in the archive and `replay` can send it back (body and attributes).
Replay records each sent message id in ARCHIVE.sent (fsync'ed after each send): a second replay
of the same archive refuses, and `--resume` sends only what is not recorded.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contract.outputs import DLQ_URL, MAIN_QUEUE_URL, WORKER_GROUP
from ops.aws import Aws, Deployed, OpsError
from ops.console import Console
from ops.files import ensure_writable_dir, stamp
from ops.fleet import group_of
from ops.messages import (
    archive_line,
    attributes_from_archive,
    delete,
    depth_of,
    receive,
    send_verified,
)

QUEUES = {"main": MAIN_QUEUE_URL, "dlq": DLQ_URL}
HOLD_SECONDS = 300
FORMAT = "ops-queue-archive/1"


def purge(aws: Aws, deployed: Deployed, console: Console, *, queue: str, archive_dir: Path,
          confirm_env: str | None) -> int:
    if deployed.env == "prod" and confirm_env != "prod":
        raise OpsError("refusing to purge a prod queue without --confirm-env prod. "
                       "Nothing was changed.")
    ensure_writable_dir(archive_dir, "--archive-dir")
    sqs = aws.client("sqs")
    url = deployed[QUEUES[queue]]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    depth = depth_of(attributes)
    now = datetime.datetime.now(datetime.UTC)
    path = archive_dir / f"{deployed.env}-{queue}-{stamp(now)}.jsonl"
    if path.exists():
        raise OpsError(f"{path} exists; an archive is never overwritten. Nothing was changed.")
    plan = [f"Delete every message of the {queue} queue of {deployed.env} (about {depth}), "
            f"after writing each one to {path}."]
    if queue == "main":
        group = group_of(aws, deployed[WORKER_GROUP])
        in_service = sum(1 for i in group.get("Instances", [])
                         if i.get("LifecycleState") == "InService")
        if in_service:
            plan.append(f"warning: {in_service} worker(s) are in service and receive from the "
                        "main queue: what they hold is neither archived nor deleted, and they "
                        "compete for the rest. Run `ops pause` first to purge completely.")
    console.confirm("\n".join(plan))
    archived = 0
    errors: list[str] = []
    try:
        archive = open(path, "x", encoding="utf-8")  # "x": never overwrite an archive
    except OSError as error:
        raise OpsError(f"cannot create {path} ({error.strerror or error}). Nothing was "
                       "changed.") from None
    with archive:
        try:
            archive.write(json.dumps({"format": FORMAT, "env": deployed.env, "queue": queue,
                                      "queue_url": url, "created": now.isoformat()}) + "\n")
            while True:
                batch = receive(sqs, url, visibility=HOLD_SECONDS)
                if not batch:
                    break
                for message in batch:
                    archive.write(archive_line(message) + "\n")
                archive.flush()
                os.fsync(archive.fileno())
                archived += len(batch)
                errors += delete(sqs, url, batch)
        except OSError as error:  # the batch in hand was not deleted: it reappears in the queue
            raise OpsError(f"writing {path} failed ({error.strerror or error}) after "
                           f"{archived} message(s) were archived and deleted; the batch in hand "
                           f"was not deleted and reappears in the queue within {HOLD_SECONDS} "
                           "s. Free space or pick another --archive-dir and purge again.") \
                from None
    left = depth_of(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])
    console.say(f"Archived {archived} message(s) to {path}")
    console.say(f"Deleted {archived - len(errors)}; replay them with: python -m ops replay "
                f"--env {deployed.env} {path}")
    for error in errors:
        console.say(f"  not deleted (still in the queue, also archived): {error}")
    if left:
        console.say(f"{left} message(s) remain: in flight at another consumer or arrived since "
                    "(pause the fleet first to purge the main queue completely)")
    return 1 if errors else 0


def _text_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise OpsError(f"{path}: no such archive") from None
    except IsADirectoryError:
        raise OpsError(f"{path} is a directory; give one .jsonl archive written by `ops purge`") \
            from None
    except UnicodeDecodeError as error:
        raise OpsError(f"{path} is not a text (UTF-8) archive: byte {error.start} cannot be "
                       "decoded; give a .jsonl archive written by `ops purge`") from None
    except OSError as error:
        raise OpsError(f"cannot read {path} ({error.strerror or error})") from None


def read_archive(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    lines = _text_lines(path)
    if not lines:
        raise OpsError(f"{path} is empty: not an ops queue archive")
    parsed: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as error:
            last = " (the last line: cut short?)" if number == len(lines) else ""
            raise OpsError(f"{path} line {number}{last} is not JSON ({error.msg} at column "
                           f"{error.colno}); nothing was sent") from None
        if not isinstance(item, dict) or (parsed and not isinstance(item.get("Body"), str)):
            raise OpsError(f"{path} line {number} is not an archived message (no Body); "
                           "nothing was sent")
        parsed.append(item)
    header, messages = parsed[0], parsed[1:]
    if header.get("format") != FORMAT:
        raise OpsError(f"{path} line 1: not an ops queue archive (format "
                       f"{header.get('format')!r}, expected {FORMAT!r})")
    return header, messages


def ledger_of(path: Path) -> Path:
    return path.with_name(path.name + ".sent")


def read_ledger(ledger: Path) -> set[str]:
    try:
        return {line.strip() for line in _text_lines(ledger) if line.strip()}
    except OpsError:
        if not ledger.exists():
            return set()
        raise


def replay(aws: Aws, deployed: Deployed, console: Console, *, path: Path, queue: str | None,
           resume: bool = False, gate: Callable[[], Any] | None = None) -> int:
    header, messages = read_archive(path)
    if header.get("env") != deployed.env:
        raise OpsError(f"{path} was written in {header.get('env')}, not {deployed.env}")
    target = queue or header.get("queue")
    if target not in QUEUES:
        raise OpsError(f"{path} line 1 names no queue main or dlq; pass --queue")
    ledger = ledger_of(path)
    sent_before = read_ledger(ledger)
    if sent_before and not resume:
        raise OpsError(f"{path} was already replayed ({len(sent_before)} of {len(messages)} "
                       f"sent, listed in {ledger}); pass --resume to send only the rest. "
                       "Nothing was sent.")
    todo = [m for m in messages if m.get("MessageId") not in sent_before]
    if not todo:
        console.say(f"Every message of {path} was sent already ({ledger}): nothing to do.")
        return 0
    plan = []
    if target == "main" and gate is not None:
        plan += gate().check("replay into the main queue")
    skipped = f" ({len(messages) - len(todo)} sent before are skipped)" if sent_before else ""
    plan.append(f"Send {len(todo)} archived message(s) of {path} to the {target} queue of "
                f"{deployed.env}{skipped}; each sent id is recorded in {ledger}.")
    console.confirm("\n".join(plan))
    sqs = aws.client("sqs")
    url = deployed[QUEUES[target]]
    sent = 0
    try:
        record = open(ledger, "a", encoding="utf-8")
    except OSError as error:
        raise OpsError(f"cannot write the ledger {ledger} ({error.strerror or error}); "
                       "nothing was sent") from None
    with record:
        for message in todo:
            try:
                send_verified(sqs, url, message["Body"],
                              attributes_from_archive(message.get("MessageAttributes", {})))
                record.write(f"{message.get('MessageId')}\n")
                record.flush()
                os.fsync(record.fileno())
            except (Exception, KeyboardInterrupt) as error:
                cause = "interrupted (Ctrl-C)" if isinstance(error, KeyboardInterrupt) else error
                raise OpsError(f"stopped after sending {sent} of {len(todo)}: {cause}. The sent "
                               f"ones are listed in {ledger}; go on with: python -m ops replay "
                               f"--env {deployed.env} {path} --resume") from None
            sent += 1
    console.say(f"Sent {sent} message(s) to the {target} queue (recorded in {ledger}).")
    return 0
