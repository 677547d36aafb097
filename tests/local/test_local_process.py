"""`python -m local` and `python -m local.demo` as real processes: the demo passes (this is how CI
runs it), a file uploaded as the tool says gets indexed, and stopping the tool in any way leaves
no process behind."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest

from harness.local_aws import ROOT, wait_for
from local.pipeline import BUCKET, CREDENTIALS, REGION
from tests.support.processes import gone, session_members

# A short long-poll so that a clean stop takes seconds, not the template's 20 s.
QUICK_STOP = ["--worker-env", "WORKER_WAIT_TIME_SECONDS=1"]


class Tool:
    """`python -m local` in the background, its output collected line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "local", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        def found():
            return next((m for m in map(re.compile(pattern).search, list(self.lines)) if m), None)

        return wait_for(found, timeout=timeout, interval=0.1, what=f"{pattern!r} in:\n{self.output}")

    def worker_pid(self) -> int:
        return int(self.wait_for_line(r"worker: pid (\d+)").group(1))

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def tool(dev_assembly, tmp_path):
    started: list[Tool] = []

    def start(*extra: str) -> Tool:
        started.append(Tool("--assembly", str(dev_assembly), "--log-dir", str(tmp_path / "logs"),
                            "--aws-port", "0", "--search-port", "0", *extra))
        return started[-1]

    yield start
    for t in started:
        t.kill()


def log_events(path: Path, **match: str) -> list[dict]:
    """The worker's JSON log lines (one object per line) that have these field values."""
    # Only complete lines: the worker may be writing the last one.
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n")[:-1] if line]
    return [e for e in lines if all(e.get(k) == v for k, v in match.items())]


def port_closed(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as probe:
        return probe.connect_ex((host, int(port))) != 0


def test_demo_passes_with_every_outcome_as_expected(dev_assembly, tmp_path):
    """What `make local-demo` runs, with the dev templates' own settings (20 s long poll)."""
    result = subprocess.run(
        [sys.executable, "-m", "local.demo", "--assembly", str(dev_assembly), "--log-dir",
         str(tmp_path)], cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=180)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Demo passed in" in out and "DEMO FAILED" not in out
    for name in ("notes.txt", "runbook.md", "inventory.csv", "config.json", "index.html",
                 "logo.png", "議事録.txt", "twice.txt", "report.pdf", "minutes.docx", "budget.xlsx",
                 "slides.pptx", "議事録-sjis.txt"):
        assert re.search(rf"^   {re.escape(name)}\s+\S", out, re.MULTILINE), name
    assert re.search(r"logo\.png\s+metadata_only\s+ok", out)
    # SQS delivers at least once (moto's receive can hand one message out twice): an extra copy
    # shows as ", unchanged" and must not write (the writes column stays 1, or 2 for twice.txt).
    assert re.search(r"report\.pdf\s+indexed(, unchanged)*\s+ok\s+\w{16}…\s+1\s+ok \d+", out)
    assert re.search(r"twice\.txt\s+indexed, indexed(, unchanged)*\s+ok\s+\w{16}…\s+2\s", out)
    assert "raw-files%2Fmissing%2Fdeleted-before-indexing.txt  object_missing" in out
    assert "13 documents in the index, one per file; the 42 duplicate deliveries" in out
    replayed = re.search(r"議事録\.txt\s+(\d+)\s+1 → 1\s+ok", out)
    assert replayed and int(replayed.group(1)) >= 3, out  # 3 replays, plus any queue duplicate
    assert [e["reason"] for e in log_events(tmp_path / "worker.log", event="sent_to_dlq")] == [
        "object_missing"]


def test_upload_as_printed_is_indexed_then_ctrl_c_stops_everything(tool, tmp_path):
    running = tool(*QUICK_STOP)
    worker = running.worker_pid()
    command = running.wait_for_line(r"^  (AWS_ACCESS_KEY_ID=.* s3 cp FILE \S+)$").group(1)
    words = shlex.split(command)
    endpoint, destination = words[words.index("--endpoint-url") + 1], words[-1]
    assert destination == f"s3://{BUCKET}/raw-files/"
    assert words[:2] == [f"{k}={v}" for k, v in CREDENTIALS.items()]
    search_url = running.wait_for_line(r"search \(fake OpenSearch\): (\S+)").group(1)
    # Upload what the printed line names (bucket, prefix, endpoint, credentials), with boto3.
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                      aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    s3.put_object(Bucket=BUCKET, Key="raw-files/hello.txt", Body=b"hello")
    running.wait_for_line(r"uploaded 1 \| indexed 1 \(0 metadata only\) \| unchanged 0 \| in DLQ 0 "
                          r"\| in flight 0 \| waiting 0")

    running.proc.send_signal(signal.SIGINT)
    assert running.finish() == 0, running.output
    assert "stopped: worker exit code 0, servers closed" in running.output
    assert gone(worker) and session_members(worker) == []
    assert port_closed(endpoint) and port_closed(search_url)
    assert log_events(tmp_path / "logs" / "worker.log", event="worker_stopped")


def test_sigterm_stops_the_worker_too(tool):
    running = tool(*QUICK_STOP)
    worker = running.worker_pid()
    running.wait_for_line("Ctrl-C stops everything.")
    running.proc.send_signal(signal.SIGTERM)
    assert running.finish() == 0, running.output
    assert "SIGTERM: stopping the worker" in running.output
    assert gone(worker) and session_members(worker) == []


def test_a_worker_that_dies_stops_the_tool_with_an_error(tool):
    running = tool(*QUICK_STOP)
    worker = running.worker_pid()
    endpoint = running.wait_for_line(r"--endpoint-url (\S+)").group(1)
    os.kill(worker, signal.SIGKILL)
    assert running.finish() == 1, running.output
    assert "the worker stopped by itself (exit code -9)" in running.output
    assert gone(worker) and port_closed(endpoint)


def test_a_taken_port_is_named_and_nothing_is_started(tool):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        running = tool("--aws-port", str(port))
        assert running.finish() == 2, running.output
    assert f"127.0.0.1:{port} is not free" in running.output and "--aws-port" in running.output
    assert "worker: pid" not in running.output


def test_second_ctrl_c_kills_a_worker_that_is_still_draining(tool, tmp_path):
    # An idle worker stops within 2 s of the first Ctrl-C by itself; one that does not stop (here
    # frozen with SIGSTOP, as a worker stuck draining would be) is killed by the second one.
    running = tool()
    worker = running.worker_pid()
    running.wait_for_line("Ctrl-C stops everything.")
    log = tmp_path / "logs" / "worker.log"
    wait_for(lambda: log_events(log, outcome="test_event"), what="the S3 test event processed")
    os.kill(worker, signal.SIGSTOP)
    started = time.monotonic()
    running.proc.send_signal(signal.SIGINT)
    running.wait_for_line("SIGINT: stopping the worker")
    running.proc.send_signal(signal.SIGINT)
    assert running.finish() == 0, running.output
    assert "SIGINT: killing the worker" in running.output
    assert "stopped: worker exit code -9, servers closed" in running.output
    assert time.monotonic() - started < 15
    assert gone(worker)
