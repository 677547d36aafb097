"""Fixtures shared by several test packages (the helpers they return live in tests/support)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.botocore_models import share_service_models
from tests.support.cdk_app import Synthesized
from tests.support.slow_first import slowest_first
from tests.support.synth_cache import shared_synthesis

# Folders whose tests build CDK apps of their own, and single modules that synthesize (a git ref
# in a worktree). With the users of `synthesized`, they are the `synth` tests `make test-fast` skips.
SYNTH_FOLDERS = {"infra", "cost"}
SYNTH_MODULES = {"test_worktree.py"}


def pytest_configure(config):
    config.addinivalue_line("markers", "synth: synthesizes the CDK app (skipped by `make test-fast`)")


def pytest_collection_modifyitems(items):
    tests_dir = Path(__file__).parent
    for item in items:
        folder = item.path.relative_to(tests_dir).parts[0]
        if ("synthesized" in getattr(item, "fixturenames", ()) or folder in SYNTH_FOLDERS
                or item.path.name in SYNTH_MODULES):
            item.add_marker(pytest.mark.synth)
    slowest_first(items, tests_dir)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> Synthesized:
    """The real app, every environment, synthesized once per run and shared by the xdist worker
    processes (infra, cost, ops and local tests)."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's basetemp is <run's root>/popen-gwN: the root is this run's alone.
    shared_root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return shared_synthesis(shared_root)


@pytest.fixture(scope="session", autouse=True)
def _service_models_read_once():
    """Every boto3 session of this process shares botocore's parsed service models
    (tests/support/botocore_models.py): the tests start hundreds of sessions."""
    undo = share_service_models()
    yield
    undo()
