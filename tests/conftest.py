"""Fixtures shared by several test packages (the helpers they return live in tests/support)."""

from __future__ import annotations

import pytest

from tests.support.cdk_app import Synthesized, synthesize_all


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> Synthesized:
    """The real app, every environment, synthesized once per session (infra, cost and ops tests)."""
    return synthesize_all(tmp_path_factory.mktemp("cdk.out"))
