"""`make local-demo`: the local pipeline, unattended, with every outcome checked.

Uploads samples/ (text, Markdown, CSV, JSON, HTML, PDF, Word, Excel, PowerPoint, Shift_JIS text,
a binary file, a file with a Japanese name),
uploads one file a second time, sends one notification whose object does not exist, waits until
the queue is drained, and prints each file's outcome and document id and the DLQ's reasons.
Then the incident: every notification the bucket sent is delivered three more times, and each
file is shown still indexed once (no new write).
Exit status: 0 every outcome as expected, 1 an outcome differed or timed out, 2 could not start.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from local.cli import LOG_DIR, add_common_arguments, error, on_stop_signals, pipeline_from, say
from local.dev_templates import REPO, TemplateError
from local.pipeline import BUCKET, LocalError, LocalPipeline

SAMPLES = REPO / "samples"
# What the worker should do with each sample, and why (outcomes as its log names them).
EXPECTED = {
    "notes.txt": ("indexed", "plain text"),
    "runbook.md": ("indexed", "Markdown"),
    "inventory.csv": ("indexed", "CSV"),
    "config.json": ("indexed", "JSON"),
    "index.html": ("indexed", "HTML: text without tags, scripts or styles"),
    "logo.png": ("metadata_only", "binary: indexed by name, size and type, not downloaded"),
    "議事録.txt": ("indexed", "Japanese name: S3 sends the key URL-encoded, the worker decodes it"),
    "twice.txt": ("indexed", "uploaded twice, same bytes"),
    # Written by tools/make_samples.py --samples (reportlab, python-docx, openpyxl, python-pptx).
    "report.pdf": ("indexed", "PDF (Japanese): text by PDFium in the extraction sandbox"),
    "minutes.docx": ("indexed", "Word (Korean): paragraphs, table, footer"),
    "budget.xlsx": ("indexed", "Excel: cell values of every sheet, not formulas"),
    "slides.pptx": ("indexed", "PowerPoint (Japanese): slides and speaker notes"),
    "議事録-sjis.txt": ("indexed", "Shift_JIS (CP932) text: detected, stored as Unicode"),
}
UPLOADED_TWICE = "twice.txt"
MISSING_KEY = "missing/deleted-before-indexing.txt"
REPLAYS = 3
PHASE_TIMEOUT = 60.0


@dataclass
class Check:
    failures: list[str] = field(default_factory=list)

    def expect(self, ok: bool, what: str) -> bool:
        if not ok:
            self.failures.append(what)
        return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, aws_port=0, search_port=0, log_dir=LOG_DIR / "demo")
    args = parser.parse_args(argv)
    holder: dict[str, LocalPipeline] = {}
    stopping = on_stop_signals(lambda name: say(f"\n{name}: stopping the demo"),
                               lambda name: holder["pipeline"].kill_worker() if holder else None)
    started = time.monotonic()
    try:
        with pipeline_from(args) as pipeline:
            holder["pipeline"] = pipeline
            check = Demo(pipeline, stopping.is_set).run()
            say("stopping the worker and the servers (the worker stops within 2 s when it holds "
                "nothing)")
            exit_code = pipeline.stop()
        check.expect(exit_code == 0, f"the worker exited with {exit_code} after SIGTERM, not 0")
    except (LocalError, TemplateError) as problem:
        error(str(problem))
        return 2
    seconds = time.monotonic() - started
    if check.failures:
        say(f"\nDEMO FAILED after {seconds:.0f} s:")
        for failure in check.failures:
            say(f"  - {failure}")
        return 1
    say(f"\nDemo passed in {seconds:.0f} s: every outcome as expected.")
    return 0


class Demo:
    def __init__(self, pipeline: LocalPipeline, interrupted: Callable[[], bool]) -> None:
        assert pipeline.search is not None and pipeline.worker_log is not None, "not started"
        self.pipeline = pipeline
        self.search = pipeline.search
        self.log = pipeline.worker_log
        self.interrupted = interrupted
        self.s3 = pipeline.client("s3")
        self.sqs = pipeline.client("sqs")
        self.prefix = pipeline.spec.prefix
        self.index = pipeline.worker_environment()["WORKER_OPENSEARCH_INDEX"]
        self.check = Check()

    def key(self, name: str) -> str:
        return self.prefix + name

    def run(self) -> Check:
        pipeline = self.pipeline
        names = sorted(p.name for p in SAMPLES.iterdir() if p.is_file())
        unknown = sorted(set(names) - set(EXPECTED))
        if unknown or set(EXPECTED) - set(names):
            raise LocalError(f"samples/ and local/demo.py's EXPECTED disagree: unexpected "
                             f"{unknown}, missing {sorted(set(EXPECTED) - set(names))}")
        say(f"Local pipeline: {pipeline.aws_url} (S3 + SQS), {self.search.url} (search); "
            f"worker log {self.log.path}")
        for line in pipeline.spec.describe():
            say("  " + line)

        say(f"\n1. Upload {len(names)} files from samples/ to s3://{BUCKET}/{self.prefix}, and send one "
            f"notification for {self.key(MISSING_KEY)}, which does not exist")
        for name in names:
            self.s3.put_object(Bucket=BUCKET, Key=self.key(name), Body=(SAMPLES / name).read_bytes())
        missing_id = self._send_missing_object_event()
        expected_dlq = 1
        self._wait_drained(lambda: self._processed(names) >= len(names), expected_dlq, "first pass")

        say(f"\n2. Upload {UPLOADED_TWICE} again, same bytes")
        self.s3.put_object(Bucket=BUCKET, Key=self.key(UPLOADED_TWICE),
                           Body=(SAMPLES / UPLOADED_TWICE).read_bytes())
        self._wait_drained(lambda: self._processed(names) >= len(names) + 1, expected_dlq,
                           "second upload")
        expected = {name: [EXPECTED[name][0]] for name in names}
        # A versioned bucket (as dev's) gives the same bytes a new version: the same document is
        # rewritten with the new version id. Without versioning nothing would change.
        expected[UPLOADED_TWICE].append("indexed" if pipeline.spec.versioned else "unchanged")
        why = {name: EXPECTED[name][1] for name in names}
        why[UPLOADED_TWICE] += (": the versioned bucket made a new version, so the same document "
                                "is rewritten" if pipeline.spec.versioned else
                                ": the second time it is unchanged")
        documents = self._outcome_table(names, expected, why)
        self._dlq_table(missing_id)

        say(f"\n3. The incident: every notification the bucket sent ({len(pipeline.notifications)}) "
            f"delivered {REPLAYS} more times, as several notification paths would")
        writes_before = dict(self.search.writes_per_doc)
        seen = self._processed_total()
        bodies = [n.body for n in pipeline.notifications] * REPLAYS
        for start in range(0, len(bodies), 10):
            self.sqs.send_message_batch(QueueUrl=pipeline.queue_url, Entries=[
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start:start + 10])])
        self._wait_drained(lambda: self._processed_total() >= seen + len(bodies), expected_dlq, "replay")
        self._replay_table(names, documents, writes_before, seen, len(bodies))
        say("\n" + pipeline.status().line())
        return self.check

    # -- steps -------------------------------------------------------------------------------

    def _send_missing_object_event(self) -> str:
        """A notification shaped exactly like the bucket's own (a recorded one, re-keyed) for an
        object that is gone: as if it was deleted before the worker got to it."""
        if not self.pipeline.notifications:
            raise LocalError("the bucket sent no notification for the uploads: is the "
                             "notification configured?")
        event = json.loads(self.pipeline.notifications[0].body)
        event["Records"][0]["s3"]["object"]["key"] = quote_plus(self.key(MISSING_KEY))
        return self.sqs.send_message(QueueUrl=self.pipeline.queue_url,
                                     MessageBody=json.dumps(event))["MessageId"]

    def _processed(self, names: list[str]) -> int:
        keys = {self.key(n) for n in names}
        return sum(1 for e in self._events("message_processed") if e.get("key") in keys)

    def _processed_total(self) -> int:
        return len(self._events("message_processed"))

    def _events(self, name: str) -> list[dict[str, Any]]:
        return self.log.named(name)

    def _wait_drained(self, done: Callable[[], bool], dlq: int, phase: str) -> None:
        deadline = time.monotonic() + PHASE_TIMEOUT
        while True:
            status = self.pipeline.status()
            if done() and status.waiting == 0 and status.in_flight == 0 and status.in_dlq >= dlq:
                say("   " + status.line())
                return
            if self.pipeline.worker_exit_code() is not None:
                raise LocalError(f"{phase}: the worker exited with {self.pipeline.worker_exit_code()}")
            if self.interrupted():
                raise LocalError(f"{phase}: interrupted")
            if time.monotonic() > deadline:
                raise LocalError(f"{phase}: not drained after {PHASE_TIMEOUT:.0f} s: {status.line()}")
            time.sleep(0.2)

    # -- tables ------------------------------------------------------------------------------

    def _outcome_table(self, names: list[str], expected: dict[str, list[str]],
                       why: dict[str, str]) -> dict[str, str]:
        search = self.search
        docs = search.docs(self.index)
        by_key = {doc["source"]["key"]: doc_id for doc_id, doc in docs.items()}
        outcomes: dict[str, list[str]] = {n: [] for n in names}
        for event in self._events("message_processed"):
            name = str(event.get("key", ""))[len(self.prefix):]
            if name in outcomes:
                outcomes[name].append(str(event.get("outcome")))
        rows = []
        for name in names:
            got = outcomes[name]
            # SQS delivers at least once (and moto's ReceiveMessage takes no lock, so two
            # concurrent receives can return one message): an extra copy is fine as long as it
            # finds the document unchanged and writes nothing (the writes column is checked).
            want = expected[name]
            extra = got[len(want):]
            ok = self.check.expect(got[:len(want)] == want and all(o == "unchanged" for o in extra),
                                   f"{name}: outcomes {got}, expected {want}")
            doc_id = by_key.get(self.key(name), "")
            if doc_id:
                writes, writing = search.writes_per_doc.get(doc_id, 0), sum(o != "unchanged" for o in want)
                ok = self.check.expect(writes == writing,
                                       f"{name}: {writes} writes, expected {writing}") and ok
            self.check.expect(bool(doc_id), f"{name}: no document in the index")
            source = docs[doc_id]["source"] if doc_id else {}
            # Every document says how its text was extracted (docs/extraction.md).
            text = f"{source.get('extraction', '-')} {len(source.get('content') or '')}"
            if expected[name][0] == "indexed":
                self.check.expect(source.get("extraction") == "ok" and bool(source.get("content")),
                                  f"{name}: extraction {text!r}, expected ok with text")
            rows.append([name, ", ".join(got) or "(none)", "ok" if ok else "WRONG",
                         doc_id[:16] + "…" if doc_id else "-", str(search.writes_per_doc.get(doc_id, 0)),
                         text, why[name]])
        self.check.expect(len(by_key) == len(names),
                          f"{len(by_key)} documents in the index, expected {len(names)}")
        say("")
        _table(["file", "outcome", "", "document id", "writes", "text", "why"], rows)
        return {name: by_key.get(self.key(name), "") for name in names}

    def _dlq_table(self, missing_id: str) -> None:
        messages = self._peek(self.pipeline.dlq_url)
        rows = []
        for message in messages:
            attributes = message.get("MessageAttributes", {})
            try:
                key = json.loads(message["Body"])["Records"][0]["s3"]["object"]["key"]
            except (ValueError, KeyError, IndexError, TypeError):
                key = "(not an S3 event)"
            rows.append([key, attributes.get("reason", {}).get("StringValue", "(no reason)"),
                         attributes.get("detail", {}).get("StringValue", "")])
        say(f"\nDead-letter queue ({len(messages)} message(s)):")
        _table(["key (as S3 encodes it)", "reason", "detail"], rows)
        reasons = [r[1] for r in rows]
        self.check.expect(reasons == ["object_missing"],
                          f"DLQ reasons {reasons}, expected ['object_missing'] only")
        sources = [m.get("MessageAttributes", {}).get("source_message_id", {}).get("StringValue")
                   for m in messages]
        self.check.expect(sources == [missing_id],
                          f"DLQ holds {sources}, expected the missing-object event {missing_id}")

    def _peek(self, queue_url: str) -> list[dict[str, Any]]:
        """Every message of a small queue, left in place (visibility 0)."""
        found: dict[str, dict[str, Any]] = {}
        for _ in range(10):
            batch = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                             VisibilityTimeout=0, WaitTimeSeconds=0,
                                             MessageAttributeNames=["All"]).get("Messages", [])
            new = [m for m in batch if m["MessageId"] not in found]
            if not new:
                break
            found.update((m["MessageId"], m) for m in new)
        return list(found.values())

    def _replay_table(self, names: list[str], documents: dict[str, str],
                      writes_before: dict[str, int], seen: int, replayed: int) -> None:
        search = self.search
        replay_events = self._events("message_processed")[seen:]
        outcomes = sorted({str(e.get("outcome")) for e in replay_events})
        # At least one processing per replayed delivery. More is allowed: SQS delivers at least
        # once, and moto's ReceiveMessage can hand one message to two concurrent receives; what
        # must hold is that every extra copy, too, finds the document unchanged.
        self.check.expect(len(replay_events) >= replayed and outcomes == ["unchanged"],
                          f"replay: {len(replay_events)} processings of {replayed} deliveries, "
                          f"outcomes {outcomes}, expected at least {replayed}, all 'unchanged'")
        rows = []
        for name in names:
            doc_id = documents[name]
            before, after = writes_before.get(doc_id, 0), search.writes_per_doc.get(doc_id, 0)
            deliveries = sum(1 for e in replay_events if e.get("key") == self.key(name))
            self.check.expect(after == before, f"{name}: {after - before} new write(s) on replay")
            rows.append([name, str(deliveries), f"{before} → {after}", "ok" if after == before else "WRONG"])
        documents_now = len(search.docs(self.index))
        self.check.expect(documents_now == len(names),
                          f"{documents_now} documents after the replay, expected {len(names)}")
        say("")
        _table(["file", "replayed deliveries", "writes", ""], rows)
        extra = len(replay_events) - replayed
        also = f" (and {extra} copies the queue delivered twice)" if extra > 0 else ""
        say(f"   {documents_now} documents in the index, one per file; the {replayed} duplicate "
            f"deliveries{also} were found unchanged and written nowhere.")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = (cell + " " * (w - _width(cell)) for cell, w in zip(cells, widths, strict=True))
        return ("   " + "  ".join(padded)).rstrip()

    say(line(header))
    say(line(["-" * w for w in widths]))
    for row in rows:
        say(line(row))


if __name__ == "__main__":
    sys.exit(main())
