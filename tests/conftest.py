"""Session fixtures shared by several test directories (helpers live in tests/support)."""

from __future__ import annotations

import pytest

from tests.support.cdk_app import Synthesized, synthesize_all


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> Synthesized:
    """The real app, every environment, synthesized once per session (tests/infra, tests/ops)."""
    return synthesize_all(tmp_path_factory.mktemp("cdk.out"))
