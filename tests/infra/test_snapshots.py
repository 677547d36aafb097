"""One snapshot per stack per environment: a reviewer sees every template change in the diff.

Asset hashes are masked so that a change in worker_asset/ or a CDK handler bundle does not
churn the snapshots. Update after an intended change with:
    .venv/bin/python -m pytest tests/infra --snapshot-update
"""

from __future__ import annotations

import json
import re

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.support.cdk_app import ENV_NAMES

ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def masked(template: dict) -> dict:
    return json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template)))


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_templates_match_snapshots(synthesized, snapshot_json, env_name):
    stacks = synthesized.templates[env_name]
    for stack_id in sorted(stacks):
        assert masked(stacks[stack_id]) == snapshot_json(name=f"{env_name}-{stack_id}")


def test_masking_removes_asset_hashes():
    template = {"S3Key": "a" * 64 + ".zip", "Other": "kept"}
    assert masked(template) == {"S3Key": "<asset-hash>.zip", "Other": "kept"}
