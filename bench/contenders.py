"""What both benchmarks share: S3 event messages, the two reference loops the worker is compared
with, and the worker started as in production (`python -m ingest_worker`, configured by
environment) with its CPU time and peak RSS read from /proc.

  raw_loop  only the unavoidable API work: receive(10), one GetObject per message,
            DeleteMessageBatch(10), sequential; no processing, no indexing
  naive     receive(1), GetObject, index one document (_bulk), DeleteMessage: one at a time
"""
from __future__ import annotations

import datetime
import json
import os
import signal
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote_plus, unquote_plus

from harness.worker_process import WorkerProcess, worker_env

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
CREDS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
         "AWS_DEFAULT_REGION": REGION}
BODY = ("lorem ipsum dolor sit amet " * 40).encode()  # a 1 KB text file
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def wait_until(pred, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(interval)


def s3_event(bucket: str, key: str, size: int, etag: str | None = None,
             version_id: str | None = None) -> str:
    """An ObjectCreated:Put notification body as S3 sends it to SQS (key URL-encoded, + for
    spaces; a versioned bucket adds versionId; sequencer orders events for one key)."""
    obj = {"key": quote_plus(key, safe="/"), "size": size}
    if etag:
        obj["eTag"] = etag
    if version_id:
        obj["versionId"] = version_id
    obj["sequencer"] = f"{time.time_ns():016X}"
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
        "eventTime": datetime.datetime.now(datetime.UTC).isoformat(
            timespec="milliseconds").replace("+00:00", "Z"),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AROAEXAMPLE:datasync"},
        "requestParameters": {"sourceIPAddress": "10.0.0.1"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                             "x-amz-id-2": uuid.uuid4().hex},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "raw-files-created",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "EXAMPLE"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": obj}}]})


# -- reference loops --------------------------------------------------------------------------

def _batches(sqs, queue_url: str, size: int):
    """Receive batches of up to `size` messages until the queue is empty (no long poll)."""
    while True:
        msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=size,
                                   WaitTimeSeconds=0).get("Messages", [])
        if not msgs:
            return
        yield msgs


def drain_raw_loop(sqs, s3, queue_url: str) -> int:
    """receive(10) -> GetObject each -> DeleteMessageBatch until the queue is empty."""
    n = 0
    for msgs in _batches(sqs, queue_url, 10):
        for m in msgs:
            rec = json.loads(m["Body"])["Records"][0]["s3"]
            s3.get_object(Bucket=rec["bucket"]["name"],
                          Key=unquote_plus(rec["object"]["key"]))["Body"].read()
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
        n += len(msgs)
    return n


def drain_naive(sqs, s3, queue_url: str, search_url: str, index: str) -> int:
    """receive(1) -> GetObject -> _bulk of one document -> DeleteMessage until empty."""
    n = 0
    for (m,) in _batches(sqs, queue_url, 1):
        rec = json.loads(m["Body"])["Records"][0]["s3"]
        key = unquote_plus(rec["object"]["key"])
        text = s3.get_object(Bucket=rec["bucket"]["name"], Key=key)["Body"].read()
        action = json.dumps({"index": {"_index": index, "_id": key}})
        source = json.dumps({"key": key, "content": text.decode()})
        req = urllib.request.Request(
            search_url + "/_bulk", data=f"{action}\n{source}\n".encode(),
            method="POST", headers={"Content-Type": "application/x-ndjson"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert json.loads(resp.read())["errors"] is False
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        n += 1
    return n


# -- the worker process -----------------------------------------------------------------------

def start_worker(*, queue_url: str, dlq_url: str, search_url: str, index: str,
                 aws_endpoint: str, **overrides: str):
    """`python -m ingest_worker` as production starts it; settings not given stay default.
    Its log goes to a temporary file, removed by stop_worker after a clean exit."""

    log_path = Path(tempfile.mkstemp(prefix="bench-worker-", suffix=".log")[1])
    print(f"  worker log: {log_path}", flush=True)

    # The bucket owner stays moto's account: neither moto nor the stand-in checks it.
    env = {**CREDS, **worker_env(queue_url=queue_url, dlq_url=dlq_url, search_url=search_url,
                                 aws_endpoint=aws_endpoint, region=REGION,
                                 WORKER_OPENSEARCH_INDEX=f"{index}-write", **overrides)}
    return WorkerProcess(env, sys.executable, log_path)


def stop_worker(worker, timeout: float = 60) -> dict:
    """SIGTERM, wait for a clean exit; returns the worker_stopped log line."""
    worker.proc.send_signal(signal.SIGCONT)
    worker.proc.send_signal(signal.SIGTERM)
    code = worker.proc.wait(timeout)
    assert code == 0, f"worker exit code {code}"
    stopped = worker.events("worker_stopped")[-1]
    worker.close()
    Path(worker.log_path).unlink()
    return stopped


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads (/proc/<pid>/stat utime, stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def vm_hwm_kb(pid: int) -> int:
    """Peak resident set size of a process so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies over all cores since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_percent(before: tuple[float, float], after: tuple[float, float]) -> float:
    """Machine-wide CPU busy % between two machine_cpu() readings (100 % = all cores busy)."""
    total = after[1] - before[1]
    return round(100.0 * (after[0] - before[0]) / total, 1) if total else 0.0
