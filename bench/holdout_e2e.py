"""The real worker over a folder of real files (bench/holdout.py builds one), end to end: every
file uploaded under raw-files/ to moto's S3 (its notification on moto's SQS), the worker as
production runs it (`python -m ingest_worker`, its extraction pool included) writing to the fake
OpenSearch; then SIGTERM. Prints the worker's exit code, the DLQ's depth, documents per file
and the extraction statuses. Exit 0 only when every file has exactly one document, nothing is
in the DLQ and the worker exited 0.

    python -m bench.holdout_e2e DIR
"""
from __future__ import annotations

import argparse
import collections
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "worker_asset")]

from ingest_worker.plan import doc_id  # noqa: E402

from bench.contenders import vm_hwm_kb  # noqa: E402
from harness.fake_opensearch import FakeOpenSearch  # noqa: E402
from harness.local_aws import FAKE_CREDS, INDEX, Aws, wait_for  # noqa: E402
from harness.moto import start_moto_server  # noqa: E402
from harness.worker_process import WorkerProcess  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--timeout", type=float, default=900, help="seconds to drain (900)")
    args = parser.parse_args(argv)
    os.environ.update(FAKE_CREDS)
    files = sorted(p for p in args.folder.rglob("*") if p.is_file() and p.name != "SOURCES.tsv"
                   and ".reference" not in p.relative_to(args.folder).parts)
    url, stop_moto = start_moto_server()
    fake = FakeOpenSearch().start()
    fake.bootstrap(INDEX)
    aws = Aws(url, visibility=300, versioned=True)
    with tempfile.TemporaryDirectory() as tmp:
        worker = WorkerProcess(aws.env(fake, WORKER_LOG_LEVEL="INFO", WORKER_CONCURRENCY=8),
                               log_path=Path(tmp) / "worker.log")
        try:
            started = time.monotonic()
            keys = {}
            for path in files:
                key = "raw-files/" + str(path.relative_to(args.folder))
                aws.put(key, path.read_bytes())
                keys[key] = path
            wait_for(lambda: aws.depth() == 0, timeout=args.timeout, interval=1,
                     what="the main queue drained")
            seconds = time.monotonic() - started
            pid = worker.proc.pid
            # The extraction processes, whichever of the worker's threads started them.
            children = [c for task in Path(f"/proc/{pid}/task").iterdir()
                        for c in (task / "children").read_text().split()]
            rss_worker = vm_hwm_kb(pid) / 1024
            rss_children = max((vm_hwm_kb(int(c)) for c in children), default=0) / 1024
            worker.proc.send_signal(signal.SIGTERM)
            code = worker.proc.wait(60)
            docs = fake.docs(INDEX)
            dlq = len(aws.drain_dlq())
            # Document ids are derived from bucket/key: a file has one document or none.
            per_file = collections.Counter(int(doc_id(aws.bucket, key) in docs) for key in keys)
            statuses = collections.Counter(
                str(docs[doc_id(aws.bucket, k)]["source"].get("extraction"))
                for k in keys if doc_id(aws.bucket, k) in docs)
            extra = len(docs) - sum(per_file.values())
            print(f"{len(files)} files uploaded; drained in {seconds:.0f} s; worker exit code "
                  f"{code}; DLQ {dlq}; documents {len(docs)} ({extra} not of these files)")
            print(f"peak RSS: worker process {rss_worker:.0f} MiB, largest of its "
                  f"{len(children)} extraction processes {rss_children:.0f} MiB")
            print("documents per file: " + ", ".join(f"{n} doc: {c} files"
                                                     for n, c in sorted(per_file.items())))
            print("extraction statuses: " + ", ".join(f"{k} {v}" for k, v in
                                                      sorted(statuses.items())))
            ok = code == 0 and dlq == 0 and set(per_file) == {1} and extra == 0
            print("OK" if ok else "NOT OK")
            return 0 if ok else 1
        finally:
            worker.close()
            fake.stop()
            stop_moto()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
