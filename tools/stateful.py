"""Which resources hold data, and which property changes make CloudFormation replace them.

The one place the stateful-change gate takes its rules from. Replacing or deleting one of these
resources loses data (objects, queued messages, keys, the search index), so a pull request that
does it fails unless it carries the `allow-stateful-replacement` label.

REPLACEMENT_PROPERTIES is a conservative subset, not CloudFormation's full rules: top-level
properties whose change CloudFormation documents as "Update requires: Replacement" (the
registry schema's createOnlyProperties), plus KMS key properties whose change makes the update
fail outright. A change the table does not list is shown as a modification and not gated.
`tests/ci/test_stateful.py` checks the table still covers cfn-lint's bundled registry schemas.
"""

from __future__ import annotations

STATEFUL_TYPES: frozenset[str] = frozenset({
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::KMS::Key",
    "AWS::OpenSearchService::Domain",
    "AWS::Elasticsearch::Domain",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
})
# Deliberately absent: AWS::Logs::LogGroup (logs are diagnostics, recreated empty is acceptable).

REPLACEMENT_PROPERTIES: dict[str, frozenset[str]] = {
    "AWS::S3::Bucket": frozenset({"BucketName", "BucketNamePrefix", "BucketNamespace"}),
    "AWS::SQS::Queue": frozenset({"QueueName", "FifoQueue"}),
    # CloudFormation refuses these updates rather than replacing the key; still a stop sign.
    "AWS::KMS::Key": frozenset({"KeySpec", "KeyUsage", "Origin", "MultiRegion"}),
    # EngineVersion is an in-place (blue/green) upgrade, not a replacement.
    "AWS::OpenSearchService::Domain": frozenset({"DomainName", "EngineMode"}),
    "AWS::Elasticsearch::Domain": frozenset({"DomainName"}),
    "AWS::DynamoDB::Table": frozenset({"TableName", "KeySchema", "ImportSourceSpecification"}),
    "AWS::DynamoDB::GlobalTable": frozenset({"TableName", "KeySchema"}),
}

ALLOW_LABEL = "allow-stateful-replacement"


def is_stateful(resource_type: str | None) -> bool:
    return resource_type in STATEFUL_TYPES


def requires_replacement(resource_type: str, top_level_property: str) -> bool:
    """True when changing `top_level_property` replaces a resource of this (stateful) type."""
    return top_level_property in REPLACEMENT_PROPERTIES.get(resource_type, frozenset())
