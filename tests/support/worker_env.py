"""The worker's declared environment variables, read from worker_asset/ (tests only;
pyproject.toml puts worker_asset on the import path).

The CDK app never imports the worker; this test helper does, so that the fleet's boot script
and the worker cannot drift apart.
"""

from __future__ import annotations

import importlib


def worker_env_vars() -> dict[str, bool]:
    config = importlib.import_module("ingest_worker.config")
    return {name: required for name, required, _ in config.ENV_VARS}


# The smallest environment the worker accepts (its required variables), for unit tests.
MINIMAL_WORKER_ENV = {
    "WORKER_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/main",
    "WORKER_DLQ_URL": "https://sqs.eu-west-1.amazonaws.com/1/dlq",
    "WORKER_OPENSEARCH_ENDPOINT": "https://search.example.com",
    "WORKER_EXPECTED_BUCKET_OWNER": "111122223333",
    "AWS_REGION": "eu-west-1",
}
