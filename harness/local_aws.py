"""Local AWS for tests: moto's server on loopback (a real SQS/S3 API), a bucket + queue pair wired
like the CDK app wires them, and the worker run in-process or as a real process.

Queues are created with the attributes the CDK templates declare, visibility scaled down:
redrive maxReceiveCount 5, DLQ retention 14 days, one S3 notification (ObjectCreated:*, prefix
raw-files/) to the main queue."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.fake_opensearch import FakeOpenSearch
from harness.moto import MOTO_ACCOUNT
from harness.worker_process import REGION, worker_env

ROOT = Path(__file__).resolve().parents[1]

FAKE_CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
              "AWS_DEFAULT_REGION": REGION}
MAX_RECEIVE_COUNT = 5
ACCOUNT_ID = MOTO_ACCOUNT  # the owner of every bucket the tests create
# The read alias (tests read documents through it) and the worker's write alias; fixtures
# create both with the first versioned index, as a deploy does (FakeOpenSearch.bootstrap).
INDEX = "file-index"
WRITE_ALIAS = "file-index-write"
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
TEST_VISIBILITY = 6


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05,
             what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Aws:
    """Per-test bucket + queue pair wired like the CDK app wires them."""

    def __init__(self, url: str, visibility: int = TEST_VISIBILITY, versioned: bool = False) -> None:
        import boto3

        kw = dict(endpoint_url=url, region_name=REGION)
        self.url = url
        self.sqs = boto3.client("sqs", **kw)
        self.s3 = boto3.client("s3", **kw)
        suffix = uuid.uuid4().hex[:10]
        self.visibility = visibility
        self.dlq_url = self.sqs.create_queue(
            QueueName=f"dlq-{suffix}",
            Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)})["QueueUrl"]
        dlq_arn = self.arn(self.dlq_url)
        self.queue_url = self.sqs.create_queue(QueueName=f"main-{suffix}", Attributes={
            "VisibilityTimeout": str(visibility),
            "ReceiveMessageWaitTimeSeconds": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                         "maxReceiveCount": MAX_RECEIVE_COUNT}),
        })["QueueUrl"]
        self.bucket = f"raw-{suffix}"
        self.s3.create_bucket(Bucket=self.bucket)
        if versioned:  # as the raw bucket is on AWS
            self.s3.put_bucket_versioning(Bucket=self.bucket,
                                          VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_bucket_notification_configuration(
            Bucket=self.bucket, NotificationConfiguration={"QueueConfigurations": [{
                "QueueArn": self.arn(self.queue_url), "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw-files/"}]}},
            }]})

    def arn(self, queue_url: str) -> str:
        return self.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def depth(self, queue_url: str | None = None) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=queue_url or self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages",
                            "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"])

    def drain_dlq(self) -> list[dict]:
        out = []
        while True:
            resp = self.sqs.receive_message(
                QueueUrl=self.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                MessageAttributeNames=["All"], AttributeNames=["All"])
            msgs = resp.get("Messages", [])
            if not msgs:
                return out
            out += msgs
            self.sqs.delete_message_batch(QueueUrl=self.dlq_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])

    def put(self, key: str, body: bytes = b"hello world") -> dict:
        return self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def send_raw(self, body: str) -> str:
        return self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)["MessageId"]

    def env(self, fake: FakeOpenSearch, **overrides: Any) -> dict[str, str]:
        """The worker's settings for this pair, tuned for tests (short polls and timeouts)."""
        tuned = {"WORKER_OPENSEARCH_INDEX": WRITE_ALIAS, "WORKER_CONCURRENCY": 4,
                 "WORKER_VISIBILITY_TIMEOUT_SECONDS": self.visibility, "WORKER_WAIT_TIME_SECONDS": 1,
                 "WORKER_SHUTDOWN_TIMEOUT_SECONDS": 15, "WORKER_LOG_LEVEL": "DEBUG"}
        return worker_env(queue_url=self.queue_url, dlq_url=self.dlq_url, search_url=fake.url,
                          aws_endpoint=self.url, bucket_owner=ACCOUNT_ID, **{**tuned, **overrides})


class LogCapture(io.TextIOBase):
    """A stream for JsonLog that keeps parsed lines (and proves each line is one JSON object)."""

    def __init__(self) -> None:
        self.lines: list[dict] = []
        self._lock = threading.Lock()
        self._buf = ""

    def write(self, s: str) -> int:
        with self._lock:
            self._buf += s
            while "\n" in self._buf:
                line, self._buf = self._buf.split("\n", 1)
                self.lines.append(json.loads(line))
        return len(s)

    def events(self, event: str, **match: Any) -> list[dict]:
        with self._lock:
            return [r for r in self.lines if r["event"] == event
                    and all(r.get(k) == v for k, v in match.items())]


class InProcessWorker:
    """The worker on a thread of the test process. `speed` > 1 runs its schedules (heartbeat,
    backoff, pauses) that many times faster; SQS, S3 and the index keep real time."""

    def __init__(self, env: dict[str, str], speed: float = 1.0) -> None:
        from ingest_worker import __main__ as entry
        from ingest_worker import config
        from ingest_worker.clock import Clock
        from ingest_worker.logs import JsonLog

        self.logs = LogCapture()
        self.cfg = config.load(env)
        self.log = JsonLog(self.cfg.log_level, stream=self.logs)
        self.clock = Clock(speed)
        self.worker, _ = entry.build(self.cfg, self.log, clock=self.clock)
        self.exit_code: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.exit_code = self.worker.run()

    def __enter__(self) -> InProcessWorker:
        self.thread.start()
        return self

    def stop(self, timeout: float = 20.0) -> int:
        self.worker.request_stop("test")
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "worker did not stop"
        assert not self.logs.events("round_failed"), "a round hit an unexpected error"
        return self.exit_code

    def __exit__(self, *exc: Any) -> None:
        if self.thread.is_alive():
            self.stop()

    def processed(self, outcome: str | None = None) -> list[dict]:
        """The worker's `message_processed` lines, optionally only those with one outcome."""
        return self.logs.events("message_processed", **({"outcome": outcome} if outcome else {}))
