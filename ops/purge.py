"""`ops purge` and `ops replay`: empty a queue into a local JSONL archive, and send it back.

Purge never calls PurgeQueue: that would also delete messages that arrive after the archive
was written. Each batch is received, written and fsync'ed, and only then deleted, so every
deleted message is in the archive and `replay` can send it back (body and attributes).
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

from contract.outputs import DLQ_URL, MAIN_QUEUE_URL
from ops.aws import Aws, Deployed, OpsError
from ops.console import Console
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
    sqs = aws.client("sqs")
    url = deployed[QUEUES[queue]]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    depth = depth_of(attributes)
    now = datetime.datetime.now(datetime.UTC)
    path = archive_dir / f"{deployed.env}-{queue}-{now:%Y%m%dT%H%M%SZ}.jsonl"
    if path.exists():
        raise OpsError(f"{path} exists; an archive is never overwritten. Nothing was changed.")
    console.confirm(f"Delete every message of the {queue} queue of {deployed.env} (about {depth}), "
                    f"after writing each one to {path}.")
    archive_dir.mkdir(parents=True, exist_ok=True)
    archived = 0
    errors: list[str] = []
    with open(path, "x", encoding="utf-8") as archive:  # "x": never overwrite an archive
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


def read_archive(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise OpsError(f"{path}: no such archive") from None
    try:
        header = json.loads(lines[0])
        messages = [json.loads(line) for line in lines[1:] if line.strip()]
    except (IndexError, ValueError) as error:
        raise OpsError(f"{path}: not an ops queue archive ({error})") from None
    if header.get("format") != FORMAT:
        raise OpsError(f"{path}: not an ops queue archive (format {header.get('format')!r})")
    return header, messages


def replay(aws: Aws, deployed: Deployed, console: Console, *, path: Path,
           queue: str | None) -> int:
    header, messages = read_archive(path)
    if header["env"] != deployed.env:
        raise OpsError(f"{path} was written in {header['env']}, not {deployed.env}")
    target = queue or header["queue"]
    url = deployed[QUEUES[target]]
    console.confirm(f"Send the {len(messages)} archived message(s) of {path} to the {target} "
                    f"queue of {deployed.env}.")
    sqs = aws.client("sqs")
    sent = 0
    for message in messages:
        try:
            send_verified(sqs, url, message["Body"],
                          attributes_from_archive(message.get("MessageAttributes", {})))
        except Exception as error:
            raise OpsError(f"stopped after sending {sent} of {len(messages)} (the first {sent} "
                           f"lines of the archive; do not replay those again): {error}") from None
        sent += 1
    console.say(f"Sent {sent} message(s) to the {target} queue.")
    return 0
