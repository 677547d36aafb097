"""Fixtures for the local-pipeline tests: the dev templates they read come from the session's
synthesis of the real app (tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dev_assembly(synthesized):
    return synthesized.outdir
