"""The ingest queue pair: the main queue the bucket notifies, and its dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config import QueueConfig


class IngestQueues(Construct):
    """Main queue (long visibility, long polling, redrive) + DLQ that admits only the main queue.

    Both queues use SQS-managed encryption: S3 can publish into it without a key policy
    (S3 cannot use `alias/aws/sqs`), and both refuse non-TLS requests.
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

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            retention_period=Duration.days(settings.dlq_retention_days),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
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
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=settings.max_receive_count
            ),
            removal_policy=removal_policy,
        )
