"""The worker's least-privilege policy on the search index, defined next to the domain.

The worker role (in the fleet stack) attaches it. Defining it in the stack that owns the domain
keeps every ARN a same-stack reference: the policy is reviewed beside the resource and its
cdk-nag findings have stable ids.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct

from checks.nag import acknowledge, wildcard_resource_finding

SEARCH_HTTP_ACTIONS = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]


class SearchWriterPolicy(Construct):
    """HTTP verbs the worker uses, on one index of one domain (no cluster-wide paths)."""

    def __init__(self, scope: Construct, construct_id: str, *, domain_arn: str, index_name: str) -> None:
        super().__init__(scope, construct_id)
        index_paths = f"{domain_arn}/{index_name}/*"
        self.policy = iam.ManagedPolicy(self, "Policy", description=(
            f"Ingest worker: write and read through {index_name}"
        ), statements=[
            iam.PolicyStatement(
                sid="IndexDocuments",
                actions=SEARCH_HTTP_ACTIONS,
                resources=[f"{domain_arn}/{index_name}", index_paths],
            ),
        ])
        acknowledge(
            self.policy, wildcard_resource_finding(self, index_paths),
            "Document, _bulk and _mget paths below the one index the workers write.",
        )
