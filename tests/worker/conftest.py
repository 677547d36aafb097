"""Fixtures for the worker tests; the helpers they return live in harness/local_aws.py."""
from __future__ import annotations

import os
import sys

import pytest

from harness.fake_opensearch import FakeOpenSearch
from harness.local_aws import (
    FAKE_CREDS,
    INDEX,
    Aws,
    InProcessWorker,
)
from harness.moto import start_moto_process
from harness.worker_process import WorkerProcess


@pytest.fixture(scope="session", autouse=True)
def _fake_aws_credentials():
    saved = {k: os.environ.get(k) for k in FAKE_CREDS}
    os.environ.update(FAKE_CREDS)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def moto_url(_fake_aws_credentials):
    url, stop = start_moto_process()
    yield url
    stop()


@pytest.fixture
def fake_os():
    fake = FakeOpenSearch().start()
    fake.bootstrap(INDEX)  # what the deploy does; its requests are not the worker's
    fake.requests.clear()
    yield fake
    fake.after_bulk = None
    fake.stop()


@pytest.fixture
def aws(moto_url):
    return Aws(moto_url)


@pytest.fixture
def make_aws(moto_url):
    return lambda **kw: Aws(moto_url, **kw)


@pytest.fixture
def run_worker():
    return InProcessWorker


@pytest.fixture
def worker_process(tmp_path):
    started: list[WorkerProcess] = []

    def start(env: dict[str, str], python: str = sys.executable) -> WorkerProcess:
        wp = WorkerProcess(env, python, tmp_path / f"worker-{len(started)}.log")
        started.append(wp)
        return wp

    yield start
    for wp in started:
        wp.close()
