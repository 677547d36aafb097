"""__main__.py: the command line (help, --check-config, exit codes), run as a function and as a
real process, also under Python 3.9."""
from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from ingest_worker import config
from ingest_worker.__main__ import main

from harness.local_aws import INDEX, ROOT, wait_for
from harness.worker_process import WORKER_DIR
from tests.support.worker_env import MINIMAL_WORKER_ENV

PY39_VENV = ROOT / ".venv" / "py39" / "bin" / "python"
PY39 = os.environ.get("WORKER_TEST_PYTHON39") or (
    str(PY39_VENV) if PY39_VENV.exists() else shutil.which("python3.9")
    or "/root/.pyenv/versions/3.9.18/bin/python3.9")


def _has_boto3(python: str) -> bool:
    return subprocess.run([python, "-c", "import boto3"], capture_output=True).returncode == 0


def test_main_exits_2_on_bad_config_and_help_lists_every_variable(capsys):
    assert main([], environ={**MINIMAL_WORKER_ENV, "WORKER_VISIBILITY_TIMEOUT_SECONDS": "-1"}) == 2
    out = capsys.readouterr()
    line = json.loads(out.out.strip().splitlines()[-1])
    assert line["event"] == "config_invalid" and line["level"] == "ERROR"
    assert "WORKER_VISIBILITY_TIMEOUT_SECONDS='-1'" in out.err
    with pytest.raises(SystemExit) as exc:
        main(["--help"], environ=MINIMAL_WORKER_ENV)
    assert exc.value.code == 0
    helptext = capsys.readouterr().out
    assert all(name in helptext for name, _, _ in config.ENV_VARS)
    assert main(["--check-config"], environ=MINIMAL_WORKER_ENV) == 0
    assert json.loads(capsys.readouterr().out)["queue_url"] == MINIMAL_WORKER_ENV["WORKER_QUEUE_URL"]


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
