"""Worker benchmark on a local moto server (`make bench`).

Three contenders drain the same kind of queue on the same moto server, in equal rounds (each
round pre-loads ROUND messages, so every contender sees the same queue depth; moto slows as a
queue fills):
  worker    the real worker (`python -m ingest_worker`, a subprocess), paused with SIGSTOP while
            a round is loaded and resumed with SIGCONT when the clock starts
  raw_loop  only the unavoidable API work (bench/contenders.py; on moto, the API ceiling)
  naive     one message at a time (bench/contenders.py)
Calls are counted, not assumed: the worker counts its own SQS/S3 HTTP requests with botocore's
before-send hook (reported in its worker_stopped log line); index requests are counted by the
fake OpenSearch server. Writes its figures into BENCH_RESULTS.json at the repository root,
keeping the `aws_profile` object that bench/aws_profile.py writes there.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3

from bench.contenders import (
    BODY,
    CREDS,
    REGION,
    drain_naive,
    drain_raw_loop,
    s3_event,
    start_worker,
    stop_worker,
    vm_hwm_kb,
    wait_until,
)
from harness.fake_opensearch import FakeOpenSearch

ROOT = Path(__file__).resolve().parents[1]
# boto3 reads credentials when a client is made: moto and the stand-in accept these.
os.environ.update(CREDS)



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bench:
    def __init__(self, messages: int, round_size: int, concurrency: int) -> None:
        self.messages = messages
        self.round_size = round_size
        self.rounds = max(1, messages // round_size)
        self.concurrency = concurrency
        port = free_port()
        self.moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        kw = dict(endpoint_url=self.url, region_name=REGION)
        self.sqs = boto3.client("sqs", **kw)
        self.s3 = boto3.client("s3", **kw)
        wait_until(self._moto_up, 30, 0.2, "moto server")
        self.fake = FakeOpenSearch().start()
        self.fake.bootstrap("bench-worker")  # as a deploy does; the worker writes via -write
        self.bucket = "bench-raw"
        self.s3.create_bucket(Bucket=self.bucket)
        self.dlq_url = self.sqs.create_queue(QueueName="bench-dlq")["QueueUrl"]
        self.keys = [f"raw-files/bench/{i // 100:03d}/file {i:05d}.txt"
                     for i in range(self.rounds * round_size)]

    def _moto_up(self) -> bool:
        try:
            self.sqs.list_queues()
            return True
        except Exception:
            return False

    def close(self) -> None:
        self.fake.stop()
        self.moto.terminate()
        self.moto.wait(10)

    def upload(self) -> None:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda k: self.s3.put_object(Bucket=self.bucket, Key=k, Body=BODY),
                          self.keys))

    def new_queue(self, name: str) -> str:
        dlq_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return self.sqs.create_queue(QueueName=f"bench-{name}-{uuid.uuid4().hex[:6]}", Attributes={
            "VisibilityTimeout": "900",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}),
        })["QueueUrl"]

    def load(self, queue_url: str, keys: list) -> None:
        """Send S3 ObjectCreated notifications as S3 formats them."""
        for i in range(0, len(keys), 10):
            self.sqs.send_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(n), "MessageBody": s3_event(self.bucket, key, len(BODY))}
                for n, key in enumerate(keys[i:i + 10])])

    def depth(self, queue_url: str) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"])

    def rounds_of_keys(self):
        for r in range(self.rounds):
            yield self.keys[r * self.round_size:(r + 1) * self.round_size]

    # -- contenders --------------------------------------------------------------------------

    def run_worker(self) -> dict:
        queue_url = self.new_queue("worker")
        index = "bench-worker"
        worker = start_worker(queue_url=queue_url, dlq_url=self.dlq_url, search_url=self.fake.url,
                              index=index, aws_endpoint=self.url,
                              WORKER_CONCURRENCY=str(self.concurrency),
                              WORKER_WAIT_TIME_SECONDS="2")
        proc, events = worker.proc, worker.events

        wait_until(lambda: events("index_ready"), 30, what="worker ready")
        requests_before = len(self.fake.requests)
        elapsed = 0.0
        peak_rss_kb = 0
        done = 0
        try:
            for keys in self.rounds_of_keys():
                proc.send_signal(signal.SIGSTOP)
                self.load(queue_url, keys)
                start = time.monotonic()
                proc.send_signal(signal.SIGCONT)
                done += len(keys)
                # The worker logs message_processed after its DeleteMessageBatch succeeded, so
                # the log tells when the round is drained without polling moto (whose
                # GetQueueAttributes would compete with the worker for the server).
                wait_until(lambda d=done: len(events("message_processed")) >= d, 600, 0.02,
                           "worker drain")
                elapsed += time.monotonic() - start
                assert self.depth(queue_url) == 0
                peak_rss_kb = max(peak_rss_kb, vm_hwm_kb(proc.pid))
            processed = events("message_processed")
            stopped = stop_worker(worker)
        finally:
            worker.close()
        n = self.rounds * self.round_size
        index_requests = len(self.fake.requests) - requests_before
        assert len(self.fake.docs(index)) == n, "worker did not index every object"
        assert sum(1 for e in processed if e["outcome"] == "indexed") == n
        return {
            "msgs_per_s": n / elapsed, "seconds": elapsed, "messages": n,
            "sqs_calls": stopped["sqs_calls"], "sqs_calls_by_op": {
                k: v for k, v in stopped["calls"].items() if k.startswith("sqs.")},
            "s3_calls": stopped["s3_calls"], "index_requests": index_requests,
            "peak_rss_mb": round(peak_rss_kb / 1024, 1),
        }

    def run_raw_loop(self) -> dict:
        queue_url = self.new_queue("raw")
        return self._run_loop(queue_url, lambda: drain_raw_loop(self.sqs, self.s3, queue_url))

    def run_naive(self) -> dict:
        queue_url = self.new_queue("naive")
        return self._run_loop(queue_url, lambda: drain_naive(
            self.sqs, self.s3, queue_url, self.fake.url, "bench-naive"))

    def _run_loop(self, queue_url: str, drain) -> dict:
        elapsed, n = 0.0, 0
        for keys in self.rounds_of_keys():
            self.load(queue_url, keys)
            start = time.monotonic()
            n += drain()
            elapsed += time.monotonic() - start
        assert n == self.rounds * self.round_size
        return {"msgs_per_s": n / elapsed, "seconds": elapsed, "messages": n}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--round", type=int, default=250, help="messages per round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--output", default=str(ROOT / "BENCH_RESULTS.json"))
    args = parser.parse_args()
    bench = Bench(args.messages, args.round, args.concurrency)
    try:
        t = time.monotonic()
        bench.upload()
        print(f"uploaded {len(bench.keys)} objects in {time.monotonic() - t:.1f}s; "
              f"{bench.rounds} rounds of {bench.round_size} per contender", flush=True)
        results = {}
        for name, run in (("worker", bench.run_worker), ("raw_loop", bench.run_raw_loop),
                          ("naive", bench.run_naive)):
            results[name] = run()
            print(f"  {name:9s} {results[name]['msgs_per_s']:7.1f} msg/s "
                  f"({results[name]['seconds']:.1f}s)", flush=True)
    finally:
        bench.close()
    w = results["worker"]
    n = w["messages"]
    summary = {
        "worker_msgs_per_s": round(w["msgs_per_s"], 1),
        "raw_loop_msgs_per_s": round(results["raw_loop"]["msgs_per_s"], 1),
        "naive_msgs_per_s": round(results["naive"]["msgs_per_s"], 1),
        "sqs_calls_per_msg": round(w["sqs_calls"] / n, 3),
        "index_requests_per_msg": round(w["index_requests"] / n, 3),
        "peak_rss_mb": w["peak_rss_mb"],
    }
    targets = {
        "sqs_calls_per_msg <= 0.25": summary["sqs_calls_per_msg"] <= 0.25,
        "index_requests_per_msg <= 0.15": summary["index_requests_per_msg"] <= 0.15,
        "worker >= 0.8 x raw_loop": w["msgs_per_s"] >= 0.8 * results["raw_loop"]["msgs_per_s"],
        "worker >= 4 x naive": w["msgs_per_s"] >= 4 * results["naive"]["msgs_per_s"],
        "peak_rss_mb <= 150": summary["peak_rss_mb"] <= 150,
    }
    report = {**summary, "targets_met": targets, "details": {
        "messages_per_contender": n, "rounds": bench.rounds, "round_size": bench.round_size,
        "worker_concurrency": args.concurrency, "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
                   f"(Python {sys.version.split()[0]})",
        "worker": w, "raw_loop": results["raw_loop"],
        "naive": results["naive"]}}
    print()
    print(f"{'metric':28s} {'value':>10s}")
    for k, v in summary.items():
        print(f"{k:28s} {v:>10}")
    print(f"{'worker / raw_loop':28s} {w['msgs_per_s'] / results['raw_loop']['msgs_per_s']:>10.2f}")
    print(f"{'worker / naive':28s} {w['msgs_per_s'] / results['naive']['msgs_per_s']:>10.2f}")
    for k, ok in targets.items():
        print(f"  {'met ' if ok else 'MISSED'} {k}")
    output = Path(args.output)
    previous = json.loads(output.read_text()) if output.exists() else {}
    # Keep the other benchmarks' results (aws_profile, recorded): only this one's keys change.
    report = {**previous, **report}
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
