"""The worker as a real process (`python -m ingest_worker`): signals, exit codes, Python 3.9."""
from __future__ import annotations

import ast
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from ingest_worker.worker import doc_id

from tests.support.local_aws import ROOT, WORKER_DIR, wait_for

INDEX = "file-index"
PY39_VENV = ROOT / ".venv" / "py39" / "bin" / "python"
PY39 = os.environ.get("WORKER_TEST_PYTHON39") or (
    str(PY39_VENV) if PY39_VENV.exists() else shutil.which("python3.9")
    or "/root/.pyenv/versions/3.9.18/bin/python3.9")


def _has_boto3(python: str) -> bool:
    return subprocess.run([python, "-c", "import boto3"], capture_output=True).returncode == 0


def test_sigkill_mid_batch_message_reappears_and_is_indexed_exactly_once(
        make_aws, fake_os, worker_process):
    aws = make_aws(visibility=3)
    key = "raw-files/killed.txt"
    written = threading.Event()
    release = threading.Event()

    def freeze_after_write():
        written.set()
        release.wait(10)

    fake_os.after_bulk = freeze_after_write
    first = worker_process(aws.env(fake_os, WORKER_VISIBILITY_TIMEOUT_SECONDS=3))
    aws.put(key, b"kill me")
    assert written.wait(20), "first worker never wrote"
    # The document is written but the answer (and so the delete) never reaches the worker.
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    fake_os.after_bulk = None
    release.set()
    assert fake_os.writes == 1
    second = worker_process(aws.env(fake_os, WORKER_VISIBILITY_TIMEOUT_SECONDS=3))
    wait_for(lambda: [e for e in second.events("message_processed") if e["key"] == key],
             timeout=20, what="redelivered message processed")
    wait_for(lambda: aws.depth() == 0, what="queue empty")
    second.proc.send_signal(signal.SIGTERM)
    assert second.proc.wait(20) == 0
    redelivered = [e for e in second.events("message_processed") if e["key"] == key]
    assert [e["outcome"] for e in redelivered] == ["unchanged"]
    assert fake_os.writes == 1 and list(fake_os.docs(INDEX)) == [doc_id(aws.bucket, key)]
    assert aws.drain_dlq() == []


def test_sigterm_finishes_in_flight_work_and_exits_zero(aws, fake_os, worker_process):
    keys = [f"raw-files/term-{i}.txt" for i in range(5)]
    in_bulk = threading.Event()

    def slow_bulk():
        in_bulk.set()
        threading.Event().wait(1.5)

    fake_os.after_bulk = slow_bulk
    wp = worker_process(aws.env(fake_os, WORKER_CONCURRENCY=2))
    for key in keys:
        aws.put(key, key.encode())
    assert in_bulk.wait(20)
    wp.proc.send_signal(signal.SIGTERM)
    assert wp.proc.wait(20) == 0
    events = [e["event"] for e in wp.lines()]
    assert events[0] == "worker_started" and events[-1] == "worker_stopped"
    assert "worker_stopping" in events and "_non_json" not in events
    stopping = wp.events("worker_stopping")[0]
    assert stopping["reason"] == "SIGTERM" and stopping["in_flight"] >= 1  # mid-batch
    assert wp.events("worker_stopped")[0]["drained"] is True
    fake_os.after_bulk = None
    # Whatever the first worker did not finish is still in the queue: nothing is lost.
    indexed = {e["key"] for e in wp.events("message_processed") if e["outcome"] == "indexed"}
    assert indexed, "the in-flight batch was finished, not dropped"
    second = worker_process(aws.env(fake_os))
    wait_for(lambda: second.events("index_ready"), what="second worker ready")
    wait_for(lambda: len(fake_os.docs(INDEX)) == len(keys), timeout=20, what="all indexed")
    wait_for(lambda: aws.depth() == 0, what="queue empty")
    second.proc.send_signal(signal.SIGTERM)
    assert second.proc.wait(20) == 0
    assert fake_os.writes == len(keys)
    assert aws.drain_dlq() == []


def test_invalid_configuration_exits_2_naming_the_variable(aws, fake_os):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKER_")}
    env.update(aws.env(fake_os, WORKER_CONCURRENCY="many"))
    proc = subprocess.run([sys.executable, "-m", "ingest_worker"], cwd=str(WORKER_DIR), env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "WORKER_CONCURRENCY='many'" in proc.stderr
    assert '"event": "config_invalid"' in proc.stdout


def test_worker_source_is_python39_syntax():
    """Static check that runs everywhere: the worker parses as Python 3.9."""
    files = sorted((WORKER_DIR / "ingest_worker").glob("*.py"))
    assert len(files) >= 8
    for path in files:
        source = path.read_text(encoding="utf-8")
        ast.parse(source, filename=str(path), feature_version=(3, 9))
        assert "from __future__ import annotations" in source or len(source) < 200, path
        assert "aws_cdk" not in source, path


@pytest.mark.skipif(not Path(PY39).exists(), reason=f"no Python 3.9 at {PY39}")
def test_worker_runs_under_python39(aws, fake_os, worker_process):
    """On 3.9 with boto3 (the AL2023 case): end to end. Without boto3: --help and config."""
    version = subprocess.run([PY39, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    assert version == "(3, 9)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKER_")}
    env.update(aws.env(fake_os))
    helped = subprocess.run([PY39, "-m", "ingest_worker", "--help"], cwd=str(WORKER_DIR),
                            env=env, capture_output=True, text=True, timeout=30)
    assert helped.returncode == 0 and "WORKER_QUEUE_URL (required)" in helped.stdout
    checked = subprocess.run([PY39, "-m", "ingest_worker", "--check-config"],
                             cwd=str(WORKER_DIR), env=env, capture_output=True, text=True,
                             timeout=30)
    assert checked.returncode == 0 and '"config_ok": true' in checked.stdout
    if not _has_boto3(PY39):
        pytest.fail(f"{PY39} has no boto3: create it with `{PY39} -m venv .venv/py39 && "
                    ".venv/py39/bin/pip install boto3` or set WORKER_TEST_PYTHON39")
    wp = worker_process(aws.env(fake_os), python=PY39)
    wait_for(lambda: wp.events("index_ready"), timeout=30, what="3.9 worker ready")
    aws.put("raw-files/py39.txt", b"from an old interpreter")
    wait_for(lambda: fake_os.docs(INDEX), timeout=30, what="indexed by the 3.9 worker")
    wait_for(lambda: aws.depth() == 0, what="queue empty")
    wp.proc.send_signal(signal.SIGTERM)
    assert wp.proc.wait(20) == 0
    assert [e["outcome"] for e in wp.events("message_processed")] == ["test_event", "indexed"]
    assert not wp.events("round_failed") and not wp.events("message_failed")
