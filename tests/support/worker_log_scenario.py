"""Real worker log output for the metric-filter tests: the worker runs a short scenario against
moto's SQS/S3 and the fake OpenSearch (helpers from tests/support), and every line it writes to
its log stream is kept verbatim, exactly as the CloudWatch agent would ship it.

The scenario covers each event the metric filters count: processed objects (indexed, S3 test
event, and an object whose key contains the runbook phrase), a poison message sent to the DLQ
(the DLQ refuses the first send: the message is given back once, `message_failed`), a delete
that failed once, and an index 429 that the worker retries in-process (no line of its own).
"""

from __future__ import annotations

import io
import json
import os
import threading
from dataclasses import dataclass

from harness.fake_opensearch import FakeOpenSearch
from harness.local_aws import FAKE_CREDS, Aws, wait_for
from harness.moto import start_moto_process

PHRASE_KEY = "raw-files/Failed to delete message - minutes.txt"


class _RawLines(io.TextIOBase):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._text = ""

    def write(self, s: str) -> int:
        with self._lock:
            self._text += s
        return len(s)

    def lines(self) -> list[str]:
        with self._lock:
            return self._text.splitlines()

    def events(self, event: str) -> list[dict]:
        return [r for r in map(json.loads, self.lines()) if r["event"] == event]


@dataclass
class WorkerRun:
    lines: list[str]   # verbatim, one JSON object each
    counts: dict       # the worker's own counters from its worker_stopped line


def run_worker_scenario() -> WorkerRun:
    from ingest_worker import __main__ as entry
    from ingest_worker import config
    from ingest_worker.logs import JsonLog
    saved = {k: os.environ.get(k) for k in FAKE_CREDS}
    os.environ.update(FAKE_CREDS)
    moto_url, stop_moto = start_moto_process()
    fake = FakeOpenSearch().start()
    fake.bootstrap("file-index")
    try:
        aws = Aws(moto_url)
        aws.put("raw-files/ok.txt", b"searchable words")
        aws.put(PHRASE_KEY, b"a file whose name contains the runbook's phrase")
        aws.put("raw-files/vanishes.txt")
        aws.s3.delete_object(Bucket=aws.bucket, Key="raw-files/vanishes.txt")

        stream = _RawLines()
        # The fleet deploys the worker with WORKER_LOG_LEVEL=INFO: the same here.
        cfg = config.load(aws.env(fake, WORKER_LOG_LEVEL="INFO"))
        worker, _ = entry.build(cfg, JsonLog(cfg.log_level, stream=stream))
        spoiled: list[str] = []

        def spoil_first_delete(params, **_):
            if not spoiled:
                spoiled.append(params["Entries"][0]["ReceiptHandle"])
                params["Entries"][0]["ReceiptHandle"] = "not-a-valid-receipt-handle"

        worker.sqs.meta.events.register("provide-client-params.sqs.DeleteMessageBatch",
                                        spoil_first_delete)
        refused: list[str] = []

        def refuse_first_dlq_send(params, **_):
            if not refused:  # e.g. the DLQ's key policy: the message is given back, not lost
                refused.append(params["QueueUrl"])
                params["QueueUrl"] = params["QueueUrl"] + "-missing"

        worker.sqs.meta.events.register("provide-client-params.sqs.SendMessageBatch",
                                        refuse_first_dlq_send)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        wait_for(lambda: len(stream.events("message_processed")) >= 3
                 and stream.events("sent_to_dlq") and stream.events("delete_failed")
                 and stream.events("message_failed"),
                 timeout=60, what="processed, DLQ refused once then sent, failed delete")
        wait_for(lambda: aws.depth() == 0, timeout=60, what="queue empty")
        fake.fail_next(1, 429)
        aws.put("raw-files/retry.txt", b"indexed on the second try")
        wait_for(lambda: any(e["key"] == "raw-files/retry.txt"
                             for e in stream.events("message_processed")),
                 timeout=60, what="index 429 retried in-process")
        wait_for(lambda: aws.depth() == 0, timeout=60, what="queue empty again")
        worker.request_stop("test")
        thread.join(30)
        assert not thread.is_alive(), "worker did not stop"
        (stopped,) = stream.events("worker_stopped")
        return WorkerRun(lines=stream.lines(), counts=stopped["counts"])
    finally:
        fake.stop()
        stop_moto()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
