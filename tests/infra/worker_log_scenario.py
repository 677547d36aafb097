"""Real worker log output for the metric-filter tests: the worker runs a short scenario against
moto's SQS/S3 and the fake OpenSearch (helpers from tests/worker), and every line it writes to
its log stream is kept verbatim, exactly as the CloudWatch agent would ship it.

The scenario covers each event the metric filters count: processed objects (indexed, S3 test
event, and an object whose key contains the runbook phrase), a poison message sent to the DLQ,
a delete that failed once, and a transient index failure that is retried.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

WORKER_TESTS = Path(__file__).resolve().parents[1] / "worker"
FAKE_CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
              "AWS_DEFAULT_REGION": "us-east-1"}
PHRASE_KEY = "raw-files/Failed to delete message - minutes.txt"


def _worker_test_support():
    """tests/worker/conftest.py under another module name (it holds the Aws helper)."""
    name = "worker_test_support"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, WORKER_TESTS / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


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
    support = _worker_test_support()
    from fake_opensearch import FakeOpenSearch  # importable once the support module ran
    from ingest_worker import __main__ as entry
    from ingest_worker import config
    from ingest_worker.logs import JsonLog
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    saved = {k: os.environ.get(k) for k in FAKE_CREDS}
    os.environ.update(FAKE_CREDS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    fake = FakeOpenSearch().start()
    try:
        host, port = server.get_host_and_port()
        aws = support.Aws(f"http://{host}:{port}")
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
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        wait_for = support.wait_for
        wait_for(lambda: len(stream.events("message_processed")) >= 3
                 and stream.events("sent_to_dlq") and stream.events("delete_failed"),
                 timeout=60, what="first round: processed, DLQ, failed delete")
        wait_for(lambda: aws.depth() == 0, timeout=60, what="queue empty")
        fake.fail_next(1, 429)
        aws.put("raw-files/retry.txt", b"indexed on the second try")
        wait_for(lambda: stream.events("message_failed")
                 and any(e["key"] == "raw-files/retry.txt" for e in stream.events("message_processed")),
                 timeout=60, what="transient failure retried")
        wait_for(lambda: aws.depth() == 0, timeout=60, what="queue empty again")
        worker.request_stop("test")
        thread.join(30)
        assert not thread.is_alive(), "worker did not stop"
        (stopped,) = stream.events("worker_stopped")
        return WorkerRun(lines=stream.lines(), counts=stopped["counts"])
    finally:
        fake.stop()
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
