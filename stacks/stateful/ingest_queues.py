"""The ingest queue pair: the main queue the bucket notifies, and its dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config import QueueConfig
from stacks.shared.keys import customer_managed_key


class IngestQueues(Construct):
    """Main queue (long visibility, long polling, redrive) + DLQ that admits only the main queue.

    Both are encrypted with a customer-managed key of their own (`key`): the messages name the
    files (bucket, key, size), and every use of the key is in CloudTrail. S3 cannot publish
    into a queue encrypted with the AWS-managed `alias/aws/sqs`; for this key CDK's
    SqsDestination adds the key-policy statements S3 needs (kms:GenerateDataKey*, kms:Decrypt
    for s3.amazonaws.com: once with `aws:SourceArn` = the raw bucket, once without, as S3's
    documentation shows it). Not the raw files' key: the first statement names the bucket,
    whose encryption names that key, a dependency cycle. Readers and senders need kms:Decrypt /
    kms:GenerateDataKey on it through SQS: the workers (consumer_policy.py), on-call engineers
    (docs/runbook.md, ops permissions); SQS asks KMS once per data-key reuse period per
    principal, not per message. Both queues refuse non-TLS requests.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: QueueConfig,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)

        # The DLQ's redrive-allow policy must name the main queue, and the main queue's
        # redrive policy names the DLQ: referencing each other's ARN would be a CloudFormation
        # dependency cycle. So the main queue gets a name derived from its construct path
        # (unique per environment, stable across deploys) and the DLQ names that ARN.
        main_queue_name = Names.unique_resource_name(self, max_length=75, separator="-") + "-main"
        main_queue_arn = Stack.of(self).format_arn(service="sqs", resource=main_queue_name)
        self.key = customer_managed_key(
            self, "Key", removal_policy=removal_policy,
            description="Encrypts the ingest queues' messages (S3 event notifications)",
        )

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            retention_period=Duration.days(settings.dlq_retention_days),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            redrive_allow_policy=sqs.RedriveAllowPolicy(
                redrive_permission=sqs.RedrivePermission.BY_QUEUE,
                source_queues=[
                    sqs.Queue.from_queue_arn(self, "MainQueueByArn", main_queue_arn)
                ],
            ),
            removal_policy=removal_policy,
        )

        self.main_queue = sqs.Queue(
            self,
            "MainQueue",
            queue_name=main_queue_name,
            visibility_timeout=Duration.seconds(settings.visibility_timeout_seconds),
            receive_message_wait_time=Duration.seconds(settings.receive_wait_seconds),
            retention_period=Duration.days(settings.retention_days),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=settings.max_receive_count
            ),
            removal_policy=removal_policy,
        )
