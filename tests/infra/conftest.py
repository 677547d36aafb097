"""Fixtures for the infra tests; the synthesized app (`synthesized`) is in tests/conftest.py."""

from __future__ import annotations

import pytest

from tests.support.cdk_app import ENV_NAMES


@pytest.fixture(params=ENV_NAMES)
def env(request) -> str:
    return request.param
