"""The pipeline on one machine: moto's S3 + SQS server and the fake OpenSearch on loopback, the
bucket, its single notification, the main queue and the DLQ as the dev templates declare them,
and the real worker (`python -m ingest_worker`) as a child process.

`LocalPipeline` is a context manager: leaving it (normally, on an exception, or after a signal
handled by the caller) stops the worker with SIGTERM (SIGKILL if it does not stop in time) and
then both servers, so no process is left behind. moto's server and the fake run as threads of
this process; the worker is its only child.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from harness.fake_opensearch import FakeOpenSearch
from harness.moto import MOTO_ACCOUNT, start_moto_server
from harness.worker_process import start_worker_process, worker_env
from local.dev_templates import LocalSpec, notification_configuration
from search_index import base_of_write_alias

REGION = "us-east-1"
# moto accepts any credentials; these only keep boto3 and the AWS CLI from looking for real ones.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
BUCKET = "file-search-local-raw"
MAIN_QUEUE = "file-search-local-main"
DEAD_LETTER_QUEUE = "file-search-local-dlq"
INDEXED_OUTCOMES = ("indexed", "metadata_only")


class LocalError(RuntimeError):
    """The local pipeline cannot start or stopped unexpectedly; the message says why."""


@dataclass(frozen=True)
class Status:
    uploaded: int  # notifications the bucket sent (one per upload under the prefix)
    indexed: int  # written to the index (metadata-only documents included)
    metadata_only: int
    unchanged: int  # processed, nothing to write (same object already indexed)
    in_dlq: int
    in_flight: int  # received by the worker, not yet deleted
    waiting: int  # in the main queue, not yet received

    def line(self) -> str:
        return (f"uploaded {self.uploaded} | indexed {self.indexed} "
                f"({self.metadata_only} metadata only) | unchanged {self.unchanged} | "
                f"in DLQ {self.in_dlq} | in flight {self.in_flight} | waiting {self.waiting}")


@dataclass(frozen=True)
class Notification:
    """One S3 notification as the bucket sent it to the main queue (body verbatim)."""

    body: str
    key: str  # as S3 sends it: URL-encoded


class WorkerLog:
    """The worker's JSON lines: copied to a file and kept, parsed, for status and outcomes."""

    def __init__(self, stream: TextIO, path: Path) -> None:
        self.path = path
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._file = open(path, "w", encoding="utf-8")  # closed by the reader thread
        self._thread = threading.Thread(target=self._read, args=(stream,), name="worker-log",
                                        daemon=True)
        self._thread.start()

    def _read(self, stream: TextIO) -> None:
        try:
            for line in stream:
                self._file.write(line)
                self._file.flush()
                try:
                    event = json.loads(line)
                except ValueError:
                    event = {"event": "_not_json", "raw": line.rstrip("\n")}
                with self._lock:
                    self.events.append(event if isinstance(event, dict) else {"event": "_not_json"})
        finally:
            self._file.close()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def named(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e.get("event") == name]

    def outcomes(self) -> Counter[str]:
        return Counter(e.get("outcome") for e in self.named("message_processed"))


class LocalPipeline:
    def __init__(self, spec: LocalSpec, *, log_dir: Path, aws_port: int = 0, search_port: int = 0,
                 worker_overrides: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.log_dir = Path(log_dir)
        self.aws_port, self.search_port = aws_port, search_port
        self.worker_overrides = dict(worker_overrides or {})
        self.notifications: list[Notification] = []
        self._stop_moto: Any = None
        self._restore_tap: Any = None
        self.search: FakeOpenSearch | None = None
        self.worker: subprocess.Popen[str] | None = None
        self.worker_log: WorkerLog | None = None
        self.aws_url = ""
        self.queue_url = self.dlq_url = ""

    # -- start -------------------------------------------------------------------------------

    def __enter__(self) -> LocalPipeline:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        for port, option in ((self.aws_port, "--aws-port"), (self.search_port, "--search-port")):
            _check_port_free(port, option)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._start_moto()
        self.search = FakeOpenSearch(port=self.search_port).start()
        # What the deploy does: the template, the first versioned index and its aliases.
        self.search.bootstrap(base_of_write_alias(
            self.worker_environment().get("WORKER_OPENSEARCH_INDEX", "file-index-write")))
        self._create_resources()
        self._start_worker()

    def _start_moto(self) -> None:
        self.aws_url, self._stop_moto = start_moto_server(self.aws_port)
        self._tap_notifications()

    def _tap_notifications(self) -> None:
        """Keep a copy of every notification the bucket sends to the main queue, so that the demo
        can replay exactly those bodies (the incident's duplicate deliveries). moto sends S3
        notifications in-process through this one function."""
        from moto.s3 import notifications as s3_notifications

        original = getattr(s3_notifications, "_send_sqs_message", None)
        if original is None:
            raise LocalError("this moto version has no moto.s3.notifications._send_sqs_message: "
                             "the notification recorder needs updating (requirements-dev.txt pins moto)")

        def recording(account_id: str, event_body: Any, queue_name: str, region_name: str) -> None:
            original(account_id, event_body, queue_name, region_name)
            if queue_name == MAIN_QUEUE and isinstance(event_body, dict) and event_body.get("Records"):
                self.notifications.append(Notification(
                    json.dumps(event_body), event_body["Records"][0]["s3"]["object"]["key"]))

        s3_notifications._send_sqs_message = recording
        self._restore_tap = lambda: setattr(s3_notifications, "_send_sqs_message", original)

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.aws_url, region_name=REGION,
                            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def _create_resources(self) -> None:
        sqs, s3 = self.client("sqs"), self.client("s3")
        spec = self.spec
        self.dlq_url = sqs.create_queue(QueueName=DEAD_LETTER_QUEUE,
                                        Attributes=spec.dead_letter_queue.attributes)["QueueUrl"]
        redrive = {"deadLetterTargetArn": self.queue_arn(self.dlq_url),
                   "maxReceiveCount": spec.main_queue.max_receive_count}
        self.queue_url = sqs.create_queue(QueueName=MAIN_QUEUE, Attributes={
            **spec.main_queue.attributes, "RedrivePolicy": json.dumps(redrive)})["QueueUrl"]
        s3.create_bucket(Bucket=BUCKET)
        if spec.versioned:
            s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration=notification_configuration(spec, self.queue_arn(self.queue_url)))

    def queue_arn(self, queue_url: str) -> str:
        return self.client("sqs").get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def worker_environment(self) -> dict[str, str]:
        assert self.search is not None
        return {
            **self.spec.worker_environment,
            **worker_env(queue_url=self.queue_url, dlq_url=self.dlq_url, search_url=self.search.url,
                         aws_endpoint=self.aws_url, region=REGION, bucket_owner=MOTO_ACCOUNT),
            **self.worker_overrides,
        }

    def _start_worker(self) -> None:
        # No real credentials or profiles (inherit_aws=False). Its own session: a terminal's
        # Ctrl-C reaches only this process, which then stops the worker itself (SIGTERM, the
        # way systemd stops it on an instance).
        self.worker = start_worker_process(
            {**CREDENTIALS, **self.worker_environment()}, stdout=subprocess.PIPE,
            inherit_aws=False, new_session=True)
        assert self.worker.stdout is not None
        self.worker_log = WorkerLog(self.worker.stdout, self.log_dir / "worker.log")

    # -- observe -----------------------------------------------------------------------------

    def worker_exit_code(self) -> int | None:
        return None if self.worker is None else self.worker.poll()

    def queue_depth(self, queue_url: str) -> tuple[int, int]:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages",
                                                "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return (int(attributes["ApproximateNumberOfMessages"]),
                int(attributes["ApproximateNumberOfMessagesNotVisible"]))

    def status(self) -> Status:
        assert self.worker_log is not None
        outcomes = self.worker_log.outcomes()
        waiting, in_flight = self.queue_depth(self.queue_url)
        dlq = sum(self.queue_depth(self.dlq_url))
        return Status(uploaded=len(self.notifications),
                      indexed=sum(outcomes[o] for o in INDEXED_OUTCOMES),
                      metadata_only=outcomes["metadata_only"], unchanged=outcomes["unchanged"],
                      in_dlq=dlq, in_flight=in_flight, waiting=waiting)

    def upload_command(self, source: str = "FILE") -> str:
        credentials = " ".join(f"{k}={v}" for k, v in CREDENTIALS.items())
        return (f"{credentials} aws --endpoint-url {self.aws_url} --region {REGION} "
                f"s3 cp {source} s3://{BUCKET}/{self.spec.prefix}")

    # -- stop --------------------------------------------------------------------------------

    def stop_seconds(self) -> float:
        """How long a clean stop may take: a worker in a long poll finishes it first (up to its
        wait time), then drains what it holds."""
        settings = {**self.spec.worker_environment, **self.worker_overrides}
        return float(settings.get("WORKER_WAIT_TIME_SECONDS", "20")) + 30

    def kill_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.kill()

    def stop(self, worker_timeout: float | None = None) -> int | None:
        """Stop the worker (SIGTERM; SIGKILL after `worker_timeout`), then the servers.
        Returns the worker's exit code. Safe to call twice."""
        code = None
        if self.worker is not None:
            if self.worker.poll() is None:
                self.worker.send_signal(signal.SIGTERM)
            try:
                code = self.worker.wait(worker_timeout if worker_timeout is not None
                                        else self.stop_seconds())
            except subprocess.TimeoutExpired:
                self.worker.kill()
                code = self.worker.wait(10)
            if self.worker_log is not None:
                self.worker_log.join(5)
        if self.search is not None:
            self.search.stop()
            self.search = None
        if self._stop_moto is not None:
            self._stop_moto()
            self._stop_moto = None
        if self._restore_tap is not None:
            self._restore_tap()
            self._restore_tap = None
        return code


def _check_port_free(port: int, option: str) -> None:
    """moto's threaded server hangs instead of failing when its port is taken: check first."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise LocalError(f"127.0.0.1:{port} is not free ({error.strerror}): "
                             f"choose another port with {option}") from None
