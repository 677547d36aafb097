"""Fixtures for the infra tests: the real app synthesized once per session (tests/support/cdk_app.py)."""

from __future__ import annotations

import pytest

from tests.support.cdk_app import ENV_NAMES, Synthesized, synthesize_all


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> Synthesized:
    return synthesize_all(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(params=ENV_NAMES)
def env(request) -> str:
    return request.param
