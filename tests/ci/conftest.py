"""These tests never synthesize the real app (tests/infra does), except the one worktree test
in test_worktree.py; they use the small templates and assemblies of helpers.py."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import queue_template


@pytest.fixture
def template() -> dict[str, Any]:
    return queue_template()
