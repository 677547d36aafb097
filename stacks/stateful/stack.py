"""Stateful resources (bucket, its key, queues): kept apart so the worker fleet can be replaced freely."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from config import EnvironmentConfig
from contract import outputs
from stacks.shared.cdk_values import removal_policy
from stacks.shared.function_logs import declare_function_log_group
from stacks.shared.log_encryption import log_key_for
from stacks.shared.ops_outputs import add_ops_outputs
from stacks.stateful.consumer_policy import IngestConsumerPolicy
from stacks.stateful.handlers_in_vpc import cdk_handler_functions, put_handlers_in_vpc
from stacks.stateful.ingest_queues import IngestQueues
from stacks.stateful.raw_bucket import RawFilesBucket


class StatefulStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(
            scope, construct_id, termination_protection=config.termination_protection, **kwargs
        )
        self.queues = IngestQueues(
            self, "IngestQueues", settings=config.queue, removal_policy=removal_policy(config.removal_policy)
        )
        self.raw_files = RawFilesBucket(
            self,
            "RawFiles",
            settings=config.bucket,
            notification_queue=self.queues.main_queue,
            removal_policy=removal_policy(config.removal_policy),
        )
        # CDK's deploy-time handlers of this stack log into declared, encrypted log groups.
        log_key = log_key_for(self, enabled=config.customer_managed_log_key,
                              removal_policy=removal_policy(config.removal_policy))
        for function in cdk_handler_functions(self):
            declare_function_log_group(function, retention=config.log_retention_days, key=log_key)
        # Uploaders (DataSync's role, people) need kms:GenerateDataKey and kms:Decrypt on it.
        CfnOutput(self, "RawFilesKeyArn", value=self.raw_files.key.key_arn,
                  description="KMS key of the raw-files bucket (SSE-KMS): grant uploaders "
                              "kms:GenerateDataKey and kms:Decrypt on it")
        # On-call engineers reading or moving messages (ops peek, redrive, purge, replay) need
        # kms:Decrypt and kms:GenerateDataKey on it through SQS (docs/runbook.md).
        CfnOutput(self, "IngestQueuesKeyArn", value=self.queues.key.key_arn,
                  description="KMS key of both ingest queues: grant on-call engineers "
                              "kms:Decrypt and kms:GenerateDataKey on it (through SQS)")
        # The workers' access to these resources, defined beside them (same-stack ARNs).
        self.worker_access = IngestConsumerPolicy(
            self, "WorkerAccess", main_queue=self.queues.main_queue,
            dead_letter_queue=self.queues.dead_letter_queue, raw_bucket=self.raw_files.bucket,
            raw_prefix=config.bucket.raw_prefix, raw_bucket_key=self.raw_files.key,
            queue_key=self.queues.key,
        )
        add_ops_outputs(self, {
            outputs.MAIN_QUEUE_URL: self.queues.main_queue.queue_url,
            outputs.MAIN_QUEUE_ARN: self.queues.main_queue.queue_arn,
            outputs.DLQ_URL: self.queues.dead_letter_queue.queue_url,
            outputs.DLQ_ARN: self.queues.dead_letter_queue.queue_arn,
            outputs.RAW_BUCKET: self.raw_files.bucket.bucket_name,
            outputs.RAW_PREFIX: config.bucket.raw_prefix,
        })

    def put_handlers_in_vpc(self, *, vpc_id: str, subnet_ids: list[str]) -> None:
        """CDK's deploy-time handlers into the Network stack's subnets (Control Tower
        CT.LAMBDA.PR.3): the ids are strings (literals or SSM dynamic references), so this
        stack must deploy after Network (the stage adds that dependency)."""
        self.handlers_security_group = put_handlers_in_vpc(
            self, vpc_id=vpc_id, subnet_ids=subnet_ids)
