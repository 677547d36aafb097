"""The worker's least-privilege policy on the bucket and the queues, defined next to them.

The worker role (in the fleet stack) attaches it (the search writer's policy is
stacks/search/writer_policy.py). Defining each policy in the stack that owns
the resource keeps every ARN a same-stack reference: the policy is reviewed beside the resource
and its cdk-nag findings have stable ids.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from checks.nag import acknowledge, wildcard_resource_finding


class IngestConsumerPolicy(Construct):
    """Consume the main queue, send poison messages to the DLQ, read objects under the prefix;
    the key of both, through S3 and SQS only."""

    def __init__(
        self, scope: Construct, construct_id: str, *, main_queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue, raw_bucket: s3.IBucket, raw_prefix: str,
        raw_bucket_key: kms.IKey, queue_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        raw_objects = raw_bucket.arn_for_objects(f"{raw_prefix}*")
        self.policy = iam.ManagedPolicy(self, "Policy", description=(
            "Ingest worker: consume the ingest queue, dead-letter poison messages, read raw files"
        ), statements=[
            iam.PolicyStatement(
                sid="ConsumeIngestQueue",
                actions=["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                         "sqs:GetQueueAttributes"],
                resources=[main_queue.queue_arn],
            ),
            iam.PolicyStatement(
                sid="SendPoisonMessagesToDlq",
                actions=["sqs:SendMessage"],
                resources=[dead_letter_queue.queue_arn],
            ),
            iam.PolicyStatement(
                sid="ReadRawFiles",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[raw_objects],
            ),
            # Without ListBucket, S3 answers 403 AccessDenied instead of 404 for an object or
            # version that no longer exists, and the worker must treat a 403 as a broken
            # permission (pause and wait) rather than a bad message (DLQ). No s3:prefix condition:
            # S3 checks this permission for GetObject without a prefix in the request context.
            iam.PolicyStatement(
                sid="TellMissingRawFilesApart",
                actions=["s3:ListBucket"],
                resources=[raw_bucket.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="DecryptRawFilesThroughS3",
                actions=["kms:Decrypt"],
                resources=[raw_bucket_key.key_arn],
                conditions={"StringEquals": {
                    "kms:ViaService": f"s3.{Stack.of(scope).region}.amazonaws.com"}},
            ),
            # The queues' key (ingest_queues.py): receiving needs Decrypt, sending a poison
            # message to the DLQ GenerateDataKey, both through SQS only.
            iam.PolicyStatement(
                sid="UseQueueKeyThroughSqs",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[queue_key.key_arn],
                conditions={"StringEquals": {
                    "kms:ViaService": f"sqs.{Stack.of(scope).region}.amazonaws.com"}},
            ),
        ])
        acknowledge(
            self.policy, wildcard_resource_finding(self, raw_objects),
            "Workers read any object under the ingest prefix: the object keys are the data.",
        )
