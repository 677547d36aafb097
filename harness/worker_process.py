"""The worker as production runs it (`python -m ingest_worker`, configured by environment), for
`make local`, the benchmarks and the tests: one environment builder, one process runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.moto import MOTO_ACCOUNT

REPO = Path(__file__).resolve().parents[1]
WORKER_DIR = REPO / "worker_asset"
REGION = "us-east-1"


def worker_env(*, queue_url: str, dlq_url: str, search_url: str, aws_endpoint: str,
               region: str = REGION, bucket_owner: str = MOTO_ACCOUNT, **overrides: Any) -> dict[str, str]:
    """The worker's settings against local endpoints (moto or the stand-in, and the fake
    OpenSearch without request signing); `overrides` (WORKER_...=value) win."""
    return {
        "WORKER_QUEUE_URL": queue_url,
        "WORKER_DLQ_URL": dlq_url,
        "WORKER_OPENSEARCH_ENDPOINT": search_url,
        "WORKER_OPENSEARCH_AUTH": "none",
        "WORKER_AWS_ENDPOINT_URL": aws_endpoint,
        "WORKER_EXPECTED_BUCKET_OWNER": bucket_owner,
        "AWS_REGION": region,
        **{name: str(value) for name, value in overrides.items()},
    }


def start_worker_process(env: dict[str, str], *, python: str = sys.executable, stdout: Any,
                         inherit_aws: bool = True, new_session: bool = False) -> subprocess.Popen:
    """`python -m ingest_worker` from worker_asset/ with this process's environment minus any
    WORKER_ setting (and minus AWS_ ones unless `inherit_aws`), plus `env`, unbuffered."""
    dropped = ("WORKER_",) if inherit_aws else ("WORKER_", "AWS_")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    full_env.update(env)
    full_env["PYTHONUNBUFFERED"] = "1"
    text = {"text": True, "encoding": "utf-8"} if stdout is subprocess.PIPE else {}
    return subprocess.Popen([python, "-m", "ingest_worker"], cwd=str(WORKER_DIR), env=full_env,
                            stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT,
                            start_new_session=new_session, **text)


class WorkerProcess:
    """The worker as a child process, its JSON log written to `log_path` (discarded if None)."""

    def __init__(self, env: dict[str, str], python: str = sys.executable,
                 log_path: Path | None = None) -> None:
        self.log_path = log_path
        self._out = open(log_path, "w") if log_path else subprocess.DEVNULL
        self.proc = start_worker_process(env, python=python, stdout=self._out)

    def lines(self) -> list[dict]:
        out = []
        for raw in Path(self.log_path).read_text().splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                out.append({"event": "_non_json", "raw": raw})
        return out

    def events(self, event: str) -> list[dict]:
        return [r for r in self.lines() if r.get("event") == event]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self._out is not subprocess.DEVNULL:
            self._out.close()
