"""The worker's declared environment variables, read from worker_asset/ (tests only).

The CDK app never imports the worker; this test helper does, so that the fleet's boot script
and the worker cannot drift apart.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

WORKER_ASSET = Path(__file__).resolve().parents[2] / "worker_asset"


def worker_env_vars() -> dict[str, bool]:
    if str(WORKER_ASSET) not in sys.path:
        sys.path.insert(0, str(WORKER_ASSET))
    config = importlib.import_module("ingest_worker.config")
    return {name: required for name, required, _ in config.ENV_VARS}
