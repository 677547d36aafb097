"""config.py: defaults, validation, the ENV_VARS contract."""
from __future__ import annotations

import pytest
from ingest_worker import config

from tests.support.worker_env import MINIMAL_WORKER_ENV


def test_defaults_match_the_documented_interface():
    cfg = config.load(MINIMAL_WORKER_ENV)
    assert (cfg.opensearch_index, cfg.opensearch_auth, cfg.prefix) == (
        "file-index-write", "sigv4", "raw-files/")
    assert (cfg.concurrency, cfg.max_object_bytes, cfg.visibility_timeout, cfg.wait_time,
            cfg.shutdown_timeout, cfg.log_level) == (
        config.default_concurrency(), 10485760, 900, 20, 120, "INFO")
    assert cfg.expected_bucket_owner == "111122223333"
    assert cfg.lifecycle_hook_name is None and cfg.aws_endpoint_url is None
    names = [n for n, _, _ in config.ENV_VARS]
    assert len(names) == len(set(names)) == 25
    assert {n for n, required, _ in config.ENV_VARS if required} == set(MINIMAL_WORKER_ENV)


@pytest.mark.parametrize("name,value,needle", [
    ("WORKER_QUEUE_URL", "", "WORKER_QUEUE_URL is required"),
    ("WORKER_DLQ_URL", "sqs-dlq", "WORKER_DLQ_URL='sqs-dlq'"),
    ("WORKER_CONCURRENCY", "0", "WORKER_CONCURRENCY='0' is out of range"),
    ("WORKER_WAIT_TIME_SECONDS", "21", "WORKER_WAIT_TIME_SECONDS='21'"),
    ("WORKER_MAX_OBJECT_BYTES", "1e6", "WORKER_MAX_OBJECT_BYTES='1e6' is not an integer"),
    ("WORKER_OPENSEARCH_AUTH", "basic", "WORKER_OPENSEARCH_AUTH='basic'"),
    ("WORKER_LOG_LEVEL", "verbose", "WORKER_LOG_LEVEL='verbose'"),
    ("WORKER_OPENSEARCH_INDEX", "File Index", "WORKER_OPENSEARCH_INDEX='File Index'"),
    ("WORKER_LIFECYCLE_HOOK_NAME", "drain", "WORKER_ASG_NAME must be set"),
    ("WORKER_ASG_NAME", "asg", "WORKER_LIFECYCLE_HOOK_NAME must be set"),
    ("AWS_REGION", "", "AWS_REGION is required"),
    ("WORKER_EXPECTED_BUCKET_OWNER", "", "WORKER_EXPECTED_BUCKET_OWNER is required"),
    ("WORKER_EXPECTED_BUCKET_OWNER", "arn:aws:iam::111122223333:root",
     "WORKER_EXPECTED_BUCKET_OWNER='arn:aws:iam::111122223333:root' is not a 12-digit"),
])
def test_invalid_values_name_the_variable(name, value, needle):
    with pytest.raises(config.ConfigError, match=needle.replace("(", r"\(")):
        config.load({**MINIMAL_WORKER_ENV, name: value})


def test_default_concurrency_follows_the_instance_size():
    """16 fetch threads per vCPU (the work waits on the network), at most 32 (one core runs
    the process's Python at a time)."""
    assert [config.default_concurrency(n) for n in (1, 2, 4, 8)] == [16, 32, 32, 32]
    cfg = config.load({**MINIMAL_WORKER_ENV, "WORKER_CONCURRENCY": "8"})
    assert (cfg.concurrency, cfg.pipelines, cfg.max_in_flight) == (8, 2, 80)
