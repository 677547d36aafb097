"""Worker throughput under in-region latency (`make bench-aws-profile`, part of `make bench`).

The worker, the single-threaded batched loop (raw_loop) and the naive loop run against
harness/latency_standin.py (SQS + S3) and the fake OpenSearch, every call delayed as in-region:
SQS 15 ms, S3 GetObject 30 ms, _mget 20 ms, _bulk 40 ms + 0.5 ms per document (assumptions
modelled on in-region AWS latency, from issue 10). The servers run in this process; the worker is
a separate process (`python -m ingest_worker`, default settings), so its CPU time is its own.

Measured:
  throughput   each contender drains a pre-loaded queue; msgs/s from first message to last delete
  cpu          the worker's CPU time (/proc/<pid>/stat) over its drain / messages
  latency      upload (the notification enters the queue) to indexed (the fake writes the
               document), at a steady offered load of half the worker's measured maximum
  peak_rss_mb  the worker's VmHWM at the end
Writes the object `aws_profile` into BENCH_RESULTS.json, keeping the moto benchmark's results.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import boto3

from bench import contenders as c
from harness.fake_opensearch import FakeOpenSearch
from harness.latency_standin import LatencyProfile, StandIn

ROOT = Path(__file__).resolve().parents[1]
# boto3 reads credentials when a client is made: moto and the stand-in accept these.
os.environ.update(c.CREDS)

BUCKET = "bench-raw"


class Profile:
    def __init__(self, profile: LatencyProfile) -> None:
        self.profile = profile
        self.standin = StandIn(profile).start()
        self.fake = FakeOpenSearch(latency=profile.search_latency).start()
        self.fake.bootstrap("bench-worker")  # as a deploy does; the worker writes via -write
        kw = dict(endpoint_url=self.standin.url, region_name=c.REGION)
        self.sqs = boto3.client("sqs", **kw)
        self.s3 = boto3.client("s3", **kw)
        self.dlq_url = self.standin.create_queue("bench-dlq")

    def close(self) -> None:
        self.fake.stop()
        self.standin.stop()

    def new_queue(self, name: str) -> str:
        return self.standin.create_queue(f"bench-{name}", VisibilityTimeout="900")  # as deployed

    def new_objects(self, name: str, n: int) -> list[tuple[str, str]]:
        """n new objects; returns (key, notification body) pairs."""
        out = []
        for i in range(n):
            key = f"raw-files/bench/{name}/{i // 100:03d}/file {i:05d}.txt"
            meta = self.standin.put_object(BUCKET, key, c.BODY)
            out.append((key, c.s3_event(BUCKET, key, meta["size"], meta["eTag"],
                                        meta["versionId"])))
        return out

    # -- the worker --------------------------------------------------------------------------

    def run_worker(self, drain: int, steady_seconds: float) -> dict:
        index = "bench-worker"
        queue_url = self.new_queue("worker")
        bodies = [body for _, body in self.new_objects("worker", drain)]
        worker = c.start_worker(queue_url=queue_url, dlq_url=self.dlq_url,
                                search_url=self.fake.url, index=index,
                                aws_endpoint=self.standin.url)
        try:
            c.wait_until(lambda: worker.events("index_ready"), 60, 0.1, "worker ready")
            time.sleep(0.5)  # let every pipeline thread reach its first long poll
            pid = worker.proc.pid
            cpu0, machine0, own0 = c.cpu_seconds(pid), c.machine_cpu(), time.process_time()
            start = time.monotonic()
            self.standin.send(queue_url, bodies)
            if not self.standin.wait_deleted(queue_url, drain, 600):
                raise TimeoutError(f"worker did not drain {drain} messages")
            elapsed = time.monotonic() - start
            cpu = c.cpu_seconds(pid) - cpu0
            machine_busy = c.busy_percent(machine0, c.machine_cpu())
            own_cpu = time.process_time() - own0
            assert len(self.fake.docs(index)) == drain, "worker did not index every object"
            rate = drain / elapsed

            latency = self._steady(queue_url, index, rate / 2, steady_seconds, drain)
            peak_rss_kb = c.vm_hwm_kb(pid)
            self.standin.end_long_polls()  # a stopping worker need not wait out its 20 s poll
            stopped = c.stop_worker(worker)
        finally:
            worker.close()
        return {
            "msgs_per_s": rate, "seconds": elapsed, "messages": drain,
            "cpu_ms_per_msg": 1000 * cpu / drain,
            "cpu_busy_percent_of_one_core": round(100 * cpu / elapsed, 1),
            "machine_cpu_busy_percent": machine_busy,
            "bench_process_cpu_ms_per_msg": round(1000 * own_cpu / drain, 3),
            "peak_rss_mb": round(peak_rss_kb / 1024, 1),
            "latency": latency,
            # The worker reports its calls when it stops: both phases together.
            "calls_drain_and_steady": stopped["calls"],
            "index_requests_drain_and_steady": stopped["index_requests"],
            "counts_drain_and_steady": stopped["counts"],
        }

    def _steady(self, queue_url: str, index: str, rate: float, seconds: float,
                already: int) -> dict:
        """Offer `rate` msgs/s evenly spaced for `seconds`; upload-to-indexed latency."""
        n = max(20, int(rate * seconds))
        objects = self.new_objects("steady", n)
        enqueued: dict[str, float] = {}
        start = time.monotonic()
        for i, (key, body) in enumerate(objects):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            enqueued[key] = time.monotonic()
            self.standin.send(queue_url, [body])
        if not self.standin.wait_deleted(queue_url, already + n, 120):
            raise TimeoutError("worker did not keep up with the steady load")
        written = {d["source"]["key"]: d["written_at"] for d in self.fake.docs(index).values()}
        ms = sorted(1000 * (written[key] - at) for key, at in enqueued.items())
        q = statistics.quantiles(ms, n=100, method="inclusive")
        return {"offered_msgs_per_s": round(rate, 1), "messages": n,
                "p50_ms": round(q[49], 1), "p99_ms": round(q[98], 1), "max_ms": round(ms[-1], 1)}

    # -- reference loops ---------------------------------------------------------------------

    def run_loop(self, name: str, n: int) -> dict:
        queue_url = self.new_queue(name)
        self.standin.send(queue_url, [body for _, body in self.new_objects(name, n)])
        start = time.monotonic()
        if name == "raw_loop":
            done = c.drain_raw_loop(self.sqs, self.s3, queue_url)
        else:
            done = c.drain_naive(self.sqs, self.s3, queue_url, self.fake.url, "bench-naive")
        elapsed = time.monotonic() - start
        assert done == n, f"{name} drained {done} of {n}"
        return {"msgs_per_s": n / elapsed, "seconds": elapsed, "messages": n}


def report(worker: dict, raw: dict, naive: dict, profile: LatencyProfile) -> dict:
    ceiling = 1000 / worker["cpu_ms_per_msg"]
    summary = {
        "worker_msgs_per_s": round(worker["msgs_per_s"], 1),
        "raw_loop_msgs_per_s": round(raw["msgs_per_s"], 1),
        "naive_msgs_per_s": round(naive["msgs_per_s"], 1),
        "worker_cpu_ms_per_msg": round(worker["cpu_ms_per_msg"], 3),
        "p50_ms": worker["latency"]["p50_ms"],
        "p99_ms": worker["latency"]["p99_ms"],
        "peak_rss_mb": worker["peak_rss_mb"],
    }
    targets = {
        "worker >= 30 x naive": worker["msgs_per_s"] >= 30 * naive["msgs_per_s"],
        "worker >= 0.6 x CPU-bound ceiling (1000 / worker_cpu_ms_per_msg)":
            worker["msgs_per_s"] >= 0.6 * ceiling,
        "p99_ms <= 1000 at half load": summary["p99_ms"] <= 1000,
        "peak_rss_mb <= 150": summary["peak_rss_mb"] <= 150,
    }
    busy = worker["cpu_busy_percent_of_one_core"]
    limit = ("the worker's own CPU: its Python threads share one core (the GIL)" if busy >= 80
             else f"waiting on calls: the worker used {busy} % of one core while draining")
    if worker["machine_cpu_busy_percent"] >= 90:
        limit += (f"; the machine was {worker['machine_cpu_busy_percent']} % busy (other "
                  "processes share the cores), so expect variation between runs")
    return {**summary, "targets_met": targets, "limited_by": limit, "details": {
        "latency_profile_ms": {"sqs": profile.sqs * 1000, "s3_get_object": profile.get_object * 1000,
                               "mget": profile.mget * 1000, "bulk": profile.bulk * 1000,
                               "bulk_per_doc": profile.bulk_per_doc * 1000},
        "worker_settings": ("defaults (concurrency chosen by the worker: 16 per vCPU, at most 32; "
                            "wait 20 s, visibility 900 s)"),
        "worker_over_naive": round(worker["msgs_per_s"] / naive["msgs_per_s"], 2),
        "worker_over_raw_loop": round(worker["msgs_per_s"] / raw["msgs_per_s"], 2),
        "cpu_bound_ceiling_msgs_per_s": round(ceiling, 1),
        "worker_over_ceiling": round(worker["msgs_per_s"] / ceiling, 2),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0], "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "worker": worker, "raw_loop": raw, "naive": naive}}


def print_table(result: dict) -> None:
    d = result["details"]
    w = d["worker"]
    rows = [
        ("worker", f"{result['worker_msgs_per_s']} msg/s", f"{d['worker_over_naive']} x naive, "
         f"{d['worker_over_ceiling']} x its CPU ceiling ({d['cpu_bound_ceiling_msgs_per_s']})"),
        ("raw_loop (batched, 1 thread)", f"{result['raw_loop_msgs_per_s']} msg/s", ""),
        ("naive (one at a time)", f"{result['naive_msgs_per_s']} msg/s", ""),
        ("worker CPU per message", f"{result['worker_cpu_ms_per_msg']} ms",
         f"worker busy {w['cpu_busy_percent_of_one_core']} % of one core, machine "
         f"{w['machine_cpu_busy_percent']} % of {d['cpu_count']} cores"),
        ("upload -> indexed p50 / p99", f"{result['p50_ms']} / {result['p99_ms']} ms",
         f"at {w['latency']['offered_msgs_per_s']} msg/s offered "
         f"({w['latency']['messages']} msgs)"),
        ("worker peak RSS", f"{result['peak_rss_mb']} MB", ""),
        ("stand-in + fake CPU per message", f"{w['bench_process_cpu_ms_per_msg']} ms",
         "this process, on the same cores"),
    ]
    print(f"\naws_profile (in-region latency stand-in), {d['measured_at']}, "
          f"load average {d['load_average_1m']}")
    for name, value, note in rows:
        print(f"  {name:30s} {value:>18s}  {note}")
    for name, ok in result["targets_met"].items():
        print(f"  {'met   ' if ok else 'MISSED'} {name}")
    print(f"  limited by: {result['limited_by']}")


def write_results(path: Path, result: dict) -> None:
    data = json.loads(path.read_text()) if path.exists() else {}
    data["aws_profile"] = result
    path.write_text(json.dumps(data, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker-messages", type=int, default=3000,
                        help="messages the worker drains (default 3000)")
    parser.add_argument("--raw-messages", type=int, default=400)
    parser.add_argument("--naive-messages", type=int, default=120)
    parser.add_argument("--steady-seconds", type=float, default=15.0,
                        help="duration of the half-load latency phase")
    parser.add_argument("--output", default=str(ROOT / "BENCH_RESULTS.json"))
    args = parser.parse_args()
    profile = LatencyProfile()
    bench = Profile(profile)
    try:
        print(f"aws_profile: latency stand-in at {bench.standin.url}, fake OpenSearch at "
              f"{bench.fake.url}", flush=True)
        worker = bench.run_worker(args.worker_messages, args.steady_seconds)
        print(f"  worker    {worker['msgs_per_s']:7.1f} msg/s ({worker['seconds']:.1f}s)",
              flush=True)
        raw = bench.run_loop("raw_loop", args.raw_messages)
        print(f"  raw_loop  {raw['msgs_per_s']:7.1f} msg/s ({raw['seconds']:.1f}s)", flush=True)
        naive = bench.run_loop("naive", args.naive_messages)
        print(f"  naive     {naive['msgs_per_s']:7.1f} msg/s ({naive['seconds']:.1f}s)", flush=True)
    finally:
        bench.close()
    result = report(worker, raw, naive, profile)
    print_table(result)
    write_results(Path(args.output), result)
    print(f"wrote aws_profile into {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
