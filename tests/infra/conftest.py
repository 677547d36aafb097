"""Fixtures for the infra tests. `synthesized` (the real app, synthesized once per session) is in
tests/conftest.py: the cost tests read the same templates."""

from __future__ import annotations

import pytest

from tests.support.cdk_app import ENV_NAMES


@pytest.fixture(params=ENV_NAMES)
def env(request) -> str:
    return request.param
