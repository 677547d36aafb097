"""Fixtures for the ops tests: moto's server (reset for each test), the fake OpenSearch, an
environment deployed on moto from the real synthesized templates, and a runner for the CLI."""

from __future__ import annotations

import io
import os
import urllib.request

import pytest

from harness.fake_opensearch import FakeOpenSearch
from harness.local_aws import FAKE_CREDS
from harness.moto import start_moto_process
from harness.worker_process import REGION
from tests.support.ops_env import LocalEnvironment

NO_TEMPLATES = {"pause", "purge", "test-alarm", "index", "search"}


class Terminal(io.StringIO):
    """What the operator types, on something that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="session")
def moto_url():
    saved = {k: os.environ.get(k) for k in (*FAKE_CREDS, "AWS_PROFILE")}
    os.environ.update(FAKE_CREDS)
    os.environ.pop("AWS_PROFILE", None)
    url, stop = start_moto_process()
    yield url
    stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def moto(moto_url):
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))
    return moto_url


@pytest.fixture
def search():
    fake = FakeOpenSearch().start()
    fake.bootstrap("file-index")  # as the deploy does: file-index-v1 behind both aliases
    fake.requests.clear()
    yield fake
    fake.stop()


@pytest.fixture
def make_env(moto, search, synthesized):
    def make(env: str = "dev") -> LocalEnvironment:
        return LocalEnvironment(url=moto, env=env, templates=synthesized.templates[env],
                                search_url=search.url)
    return make


@pytest.fixture
def deployed(make_env) -> LocalEnvironment:
    return make_env("dev")


@pytest.fixture
def ops(moto, synthesized, tmp_path):
    """Run `python -m ops <command> --env E ...` in-process; returns (exit code, output)."""
    from ops.cli import main

    def run(command: str, *args: str, env: str = "dev", typed: str | None = None,
            tty: bool = True) -> tuple[int, str]:
        out = io.StringIO()
        stdin = (Terminal if tty else io.StringIO)(typed or "")
        # Only the commands that read templates take --assembly (the CLI refuses it elsewhere).
        assembly = [] if command in NO_TEMPLATES else ["--assembly", str(synthesized.outdir)]
        words = [command]
        if command == "index" and args and not args[0].startswith("-"):
            words, args = [command, args[0]], args[1:]  # `index status --env E ...`
        code = main([*words, "--env", env, "--endpoint-url", moto, "--region", REGION,
                     *assembly, *args], stdin=stdin, stdout=out)
        return code, out.getvalue()
    return run
