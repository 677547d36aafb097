"""These tests never synthesize the real app (tests/infra does), except the one worktree test
in test_worktree.py; they use the small templates and assemblies of helpers.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from .helpers import queue_template

REPO = Path(__file__).resolve().parents[2]
# `tools` is imported as a package from the repository root, as `python -m tools....` does.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture
def template() -> dict[str, Any]:
    return queue_template()
