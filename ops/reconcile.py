"""`ops reconcile`: the bucket's objects under the raw prefix against the index's documents.

Both sides are read in key order, one page at a time (S3 lists keys in UTF-8 byte order; the
index is sorted on its `key` keyword field, the same order), and merged like two sorted files,
so memory stays flat for millions of objects. Reported: objects missing from the index, stale
documents (ETag differs), documents whose object is gone (a removal whose event was lost;
removals are notified and become tombstones, docs/deletes.md, which this skips). --apply
enqueues an ObjectCreated-shaped message per missing or stale object (the worker's normal
path) and deletes the orphaned documents: it counts first, shows the counts in the plan it
asks to confirm, refuses more deletes than --max-deletes, and refuses to enqueue into a
drifted pipeline (ops/gate.py). --reextract also selects the documents of unchanged objects that
an older extractor read (ops/reextract.py; docs/extraction.md). Everything it enqueues goes
through a throttle (--rate messages per second, and nothing while the main queue holds
--max-backlog messages), so that a large re-extraction does not starve new uploads.
"""

from __future__ import annotations

import datetime
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from contract.outputs import MAIN_QUEUE_URL, RAW_BUCKET, RAW_PREFIX
from ops.aws import Aws, Deployed, OpsError
from ops.console import Console
from ops.gate import Gate
from ops.reextract import Selection, Throttle
from ops.search import Search

SHOWN = 20  # examples printed per kind; the counts are always complete
DELETE_BATCH = 500


@dataclass
class Findings:
    objects: int = 0
    documents: int = 0
    missing: int = 0
    stale: int = 0
    orphaned: int = 0
    reextract: int = 0
    enqueued: int = 0
    deleted: int = 0
    examples: dict[str, list[str]] = field(
        default_factory=lambda: {"missing": [], "stale": [], "orphaned": [], "reextract": []})
    errors: list[str] = field(default_factory=list)

    def note(self, kind: str, key: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.examples[kind]) < SHOWN:
            self.examples[kind].append(key)


def objects(s3: Any, bucket: str, prefix: str, page_size: int) -> Iterator[dict]:
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size})
    for page in pages:
        for item in page.get("Contents", []):
            yield {"key": item["Key"], "etag": item["ETag"].strip('"'), "size": item["Size"]}


def ordered(items: Iterator[dict], what: str) -> Iterator[dict]:
    """The merge is only right if both sides are sorted the same way: check as we go."""
    last = None
    for item in items:
        if last is not None and item["key"] <= last:
            raise OpsError(f"{what} is not in key order ({last!r} then {item['key']!r}); "
                           "stopped (changes already applied are listed above)")
        last = item["key"]
        yield item


def event_body(*, bucket: str, key: str, etag: str, size: int, region: str) -> str:
    """An S3 ObjectCreated notification as S3 writes it (key URL-encoded, `+` for spaces)."""
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": region,
        "eventTime": now.replace("+00:00", "Z"), "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "ops-reconcile"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "ops-reconcile",
               "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": size,
                          "eTag": etag}},
    }]})


def reconcile(aws: Aws, deployed: Deployed, console: Console, *, search: Search,
              apply: bool, max_deletes: int = 100, gate: Gate | None = None,
              selection: Selection | None = None, rate: float = 10.0,
              max_backlog: int = 100, throttle: Throttle | None = None) -> int:
    bucket, prefix = deployed[RAW_BUCKET], deployed[RAW_PREFIX]
    found = _merge(aws, deployed, search, apply=False, max_deletes=0, selection=selection)
    console.say(f"reconcile {deployed.env}: {found.objects} object(s) under s3://{bucket}/{prefix}, "
                f"{found.documents} document(s) in {search.index}")
    for kind, label in (("missing", "missing from the index"), ("stale", "stale (ETag differs)"),
                        ("orphaned", "documents whose object is gone"),
                        ("reextract", "to re-extract"
                         f" ({selection.describe() if selection else ''})")):
        if kind == "reextract" and selection is None:
            continue
        console.say(f"  {getattr(found, kind):8d} {label}")
        for key in found.examples[kind]:
            console.say(f"             {key}")
    to_enqueue = found.missing + found.stale + found.reextract
    if not apply:
        if to_enqueue or found.orphaned:
            console.say("Run again with --apply to enqueue the missing/stale objects"
                        + (" and those to re-extract" if found.reextract else "")
                        + " and delete the orphaned documents.")
        return 1 if to_enqueue or found.orphaned else 0
    if not (to_enqueue or found.orphaned):
        console.say("Nothing to apply.")
        return 0
    if found.orphaned > max_deletes:
        raise OpsError(f"refusing to apply: {found.orphaned} document(s) would be deleted, more "
                       f"than --max-deletes {max_deletes}; check the listing above (a wrong "
                       "bucket, prefix or index empties it), then raise --max-deletes. Nothing "
                       "was changed.")
    plan = gate.check("enqueue into the main queue") if gate is not None and to_enqueue else []
    reextract = f" and {found.reextract} to re-extract" if selection is not None else ""
    plan.append(f"Enqueue {found.missing + found.stale} message(s) for the missing or stale "
                f"objects{reextract} of s3://{bucket}/{prefix} and delete {found.orphaned} "
                f"document(s) whose object is gone from index {search.index} ({deployed.env}; "
                f"at most {max_deletes} deletes).")
    if to_enqueue:
        plan.append(f"Throttled: at most {rate:g} message(s) per second"
                    + (f", none while the main queue holds {max_backlog} or more" if max_backlog
                       else "") + f" (about {to_enqueue / rate:.0f} s at least).")
    console.confirm("\n".join(plan))
    sqs = aws.client("sqs")
    if throttle is None:
        throttle = Throttle(rate=rate, max_backlog=max_backlog, depth=lambda: int(
            sqs.get_queue_attributes(QueueUrl=deployed[MAIN_QUEUE_URL], AttributeNames=[
                "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]))
    done = _merge(aws, deployed, search, apply=True, max_deletes=max_deletes,
                  selection=selection, throttle=throttle)
    console.say(f"Enqueued {done.enqueued} message(s); deleted {done.deleted} document(s).")
    if throttle.waited_backlog:
        console.say(f"  waited {throttle.waited_backlog:.0f} s for the main queue's backlog to "
                    f"fall below {max_backlog}")
    if done.orphaned > max_deletes:
        console.say(f"  {done.orphaned - max_deletes} more document(s) became orphaned since "
                    f"the count and were not deleted (--max-deletes {max_deletes})")
    for error in done.errors:
        console.say(f"  error: {error}")
    return 2 if done.errors else 0


def _merge(aws: Aws, deployed: Deployed, search: Search, *, apply: bool,
           max_deletes: int, selection: Selection | None = None,
           throttle: Throttle | None = None) -> Findings:
    """One pass over both sides; with `apply`, enqueue and delete (at most `max_deletes`)."""
    bucket, prefix = deployed[RAW_BUCKET], deployed[RAW_PREFIX]
    sqs = aws.client("sqs")
    found = Findings()
    to_send: list[str] = []
    to_delete: list[str] = []

    def flush(final: bool = False) -> None:
        while to_send and (final or len(to_send) >= 10):
            chunk, to_send[:] = to_send[:10], to_send[10:]
            if throttle is not None:
                throttle.before_send(len(chunk))
            result = sqs.send_message_batch(QueueUrl=deployed[MAIN_QUEUE_URL], Entries=[
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)])
            found.enqueued += len(result.get("Successful", []))
            found.errors += [f"enqueue: {f.get('Code')}" for f in result.get("Failed", [])]
        if to_delete and (final or len(to_delete) >= DELETE_BATCH):
            failed = search.delete(list(to_delete))
            found.deleted += len(to_delete) - len(failed)
            found.errors += [f"delete document {i}: failed" for i in failed]
            to_delete.clear()

    def enqueue(obj: dict) -> None:
        if apply:
            to_send.append(event_body(bucket=bucket, key=obj["key"], etag=obj["etag"],
                                      size=obj["size"], region=aws.region))
            flush()

    def orphan(doc: dict) -> None:
        found.note("orphaned", doc["key"])
        if apply and found.orphaned <= max_deletes:
            to_delete.append(doc["id"])
            flush()

    object_iter = ordered(objects(aws.client("s3"), bucket, prefix, search.page_size),
                          "S3 listing")
    doc_iter = ordered(search.documents(bucket=bucket, prefix=prefix), "index")
    obj, doc = next(object_iter, None), next(doc_iter, None)
    while obj is not None or doc is not None:
        if obj is not None and (doc is None or obj["key"] < doc["key"]):
            found.objects += 1
            found.note("missing", obj["key"])
            enqueue(obj)
            obj = next(object_iter, None)
        elif doc is not None and (obj is None or doc["key"] < obj["key"]):
            found.documents += 1
            orphan(doc)
            doc = next(doc_iter, None)
        else:
            found.objects += 1
            found.documents += 1
            if obj["etag"] != doc.get("etag"):
                found.note("stale", obj["key"])
                enqueue(obj)
            elif selection is not None and selection.wants(doc):
                # Same bytes, older extractor: the worker does not find it `unchanged`
                # (plan.same_content compares extractor_version) and extracts it again.
                found.note("reextract", obj["key"])
                enqueue(obj)
            obj, doc = next(object_iter, None), next(doc_iter, None)
    flush(final=True)
    return found
