"""Fixtures shared by several test packages (the helpers they return live in tests/support)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.synth_cache import SharedSynthesis, shared_synthesis

# The modules that inspect the live construct tree (`synthesized.stages`), not only the templates.
# Under `pytest -n 2 --dist loadgroup` they run in one worker process, so at most that one process
# synthesizes a second time (tests/support/synth_cache.py). Names only: they survive moves.
LIVE_CONSTRUCT_MODULES = {"test_change_watch.py", "test_monitoring_stack.py", "test_ops_outputs.py",
                          "test_ingestion_stage.py", "test_stateful_stack.py", "test_alarm_replay.py"}


# Folders whose tests build CDK apps of their own, and single modules that synthesize (a git ref
# in a worktree). With the users of `synthesized`, they are the `synth` tests `make test-fast` skips.
SYNTH_FOLDERS = {"infra", "cost"}
SYNTH_MODULES = {"test_worktree.py"}


def pytest_configure(config):
    config.addinivalue_line("markers", "synth: synthesizes the CDK app (skipped by `make test-fast`)")


def pytest_collection_modifyitems(items):
    tests_dir = Path(__file__).parent
    for item in items:
        if item.path.name in LIVE_CONSTRUCT_MODULES:
            item.add_marker(pytest.mark.xdist_group("live-constructs"))
        folder = item.path.relative_to(tests_dir).parts[0]
        if ("synthesized" in getattr(item, "fixturenames", ()) or folder in SYNTH_FOLDERS
                or item.path.name in SYNTH_MODULES):
            item.add_marker(pytest.mark.synth)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> SharedSynthesis:
    """The real app, every environment, synthesized once per run and shared by the xdist worker
    processes (infra, cost, ops and local tests)."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's basetemp is <run's root>/popen-gwN: the root is this run's alone.
    shared_root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return shared_synthesis(shared_root, tmp_path_factory.mktemp("cdk.out"))
