"""The CloudFormation outputs `ops` reads: the one contract between the stacks and the CLI.

Each output is declared by the stack named here (`file-search-<env>-<stack>`) with exactly this
key; the stacks import the keys from this module, and `tests/infra/test_ops_outputs.py` checks
that every environment's templates carry all of them. Pure data: the CDK app imports it, so it
must not import boto3 or anything heavy.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.names import FLEET, MONITORING, SEARCH, STATEFUL


@dataclass(frozen=True)
class OutputSpec:
    key: str  # the CfnOutput's id, which is its logical id (top-level in its stack)
    stack: str  # the part of the stack name: file-search-<env>-<stack>
    description: str


MAIN_QUEUE_URL = OutputSpec("MainQueueUrl", STATEFUL, "URL of the ingest (main) queue")
MAIN_QUEUE_ARN = OutputSpec("MainQueueArn", STATEFUL, "ARN of the ingest (main) queue")
DLQ_URL = OutputSpec("DeadLetterQueueUrl", STATEFUL, "URL of the dead-letter queue")
DLQ_ARN = OutputSpec("DeadLetterQueueArn", STATEFUL, "ARN of the dead-letter queue")
RAW_BUCKET = OutputSpec("RawBucketName", STATEFUL, "Name of the raw-files bucket")
RAW_PREFIX = OutputSpec("RawPrefix", STATEFUL, "Key prefix whose new objects are ingested")
WORKER_GROUP = OutputSpec("WorkerGroupName", FLEET, "Name of the workers' Auto Scaling group")
WORKER_LOG_GROUP = OutputSpec("WorkerLogGroupName", FLEET, "Log group of the worker log")
SEARCH_DOMAIN = OutputSpec("SearchDomainName", SEARCH, "Name of the OpenSearch domain")
SEARCH_ENDPOINT = OutputSpec("SearchEndpointUrl", SEARCH, "https:// endpoint of the domain")
SEARCH_INDEX = OutputSpec("SearchIndexName", SEARCH, "Index the workers write")
ALARM_PREFIX = OutputSpec("AlarmNamePrefix", MONITORING, "Prefix of every alarm's name")

CONTRACT: tuple[OutputSpec, ...] = (
    MAIN_QUEUE_URL, MAIN_QUEUE_ARN, DLQ_URL, DLQ_ARN, RAW_BUCKET, RAW_PREFIX,
    WORKER_GROUP, WORKER_LOG_GROUP, SEARCH_DOMAIN, SEARCH_ENDPOINT, SEARCH_INDEX, ALARM_PREFIX,
)


def by_stack() -> dict[str, list[OutputSpec]]:
    out: dict[str, list[OutputSpec]] = {}
    for spec in CONTRACT:
        out.setdefault(spec.stack, []).append(spec)
    return out
