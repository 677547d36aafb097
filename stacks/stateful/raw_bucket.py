"""The raw-files bucket with its single event notification to the ingest queue."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from checks.nag import acknowledge_stack_singleton
from config import BucketConfig
from stacks.shared.keys import customer_managed_key
from stacks.stateful.handlers_in_vpc import NOTIFICATIONS_HANDLER_ID_PREFIX

# The events of the one queue configuration: new objects, and removed ones (a delete marker on
# this versioned bucket is s3:ObjectRemoved:DeleteMarkerCreated, covered by the wildcard).
NOTIFIED_EVENTS = ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")


class RawFilesBucket(Construct):
    """Private, versioned, KMS-encrypted, TLS-only bucket whose new and removed objects under one
    prefix notify one queue.

    Exactly one notification path exists: one QueueConfiguration (s3:ObjectCreated:* and
    s3:ObjectRemoved:*, the configured prefix) and EventBridge off. CDK applies it through its
    notifications custom resource, which replaces the bucket's whole notification configuration
    on every deploy, so a configuration added by hand in the console is removed again by the next deploy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: BucketConfig,
        notification_queue: sqs.IQueue,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)

        # Both buckets: private, TLS only, no ACLs, versioned, removed (or kept) with the
        # environment.
        private = dict(
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            removal_policy=removal_policy,
            auto_delete_objects=settings.auto_delete_objects,
        )
        # Server access logging delivers only into SSE-S3 buckets, so this one cannot use KMS.
        # Versioned so that a deleted or overwritten log object stays recoverable (evidence).
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=[s3.LifecycleRule(
                expiration=Duration.days(settings.access_log_expiration_days),
                noncurrent_version_expiration=Duration.days(settings.access_log_expiration_days),
            )],
            **private,
        )
        # Its events go to EventBridge, where the Monitoring stack's `access-logs-deleted` rule
        # pages on a log object deleted by anyone but the lifecycle (tampering with evidence).
        # Set on the bucket resource itself: CDK's `event_bridge_enabled` would apply it through
        # its notifications custom resource, which Control Tower's CT.S3.PR.4 cannot see. This
        # bucket notifies no queue, so it is no second path for the notification guard.
        self.access_log_bucket.node.default_child.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True)

        # The files are the customer's documents: reading one takes s3:GetObject *and*
        # kms:Decrypt on this key, and every use of the key is in CloudTrail. The bucket key
        # makes S3 ask KMS once per bucket key period instead of once per object.
        self.key = customer_managed_key(
            self, "Key", removal_policy=removal_policy,
            description="Encrypts the raw files the ingestion pipeline indexes",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="raw-bucket/",
            # A second path to the queue was half of the incident: EventBridge stays off.
            event_bridge_enabled=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(
                        settings.noncurrent_version_expiration_days
                    ),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            **private,
        )

        self.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(notification_queue),
            s3.NotificationKeyFilter(prefix=settings.raw_prefix),
        )
        # Deletes ride in the same configuration (removed files leave the search, docs/deletes.md).
        # CDK renders one configuration per add_event_notification call, and a second one to
        # the same queue is what the notification guard refuses; S3 accepts one configuration
        # listing several event types, so the list is set on the rendered configuration.
        notifications = self.bucket.node.find_child("Notifications").node.default_child
        notifications.add_property_override(
            "NotificationConfiguration.QueueConfigurations.0.Events", list(NOTIFIED_EVENTS))
        _acknowledge_notifications_handler(Stack.of(self))


def _acknowledge_notifications_handler(stack: Stack) -> None:
    acknowledge_stack_singleton(stack, NOTIFICATIONS_HANDLER_ID_PREFIX, {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaVPCAccessExecutionRole]":
            "CDK's bucket-notifications handler (a deploy-time custom resource) runs in the "
            "VPC (stacks/stateful/handlers_in_vpc.py): this AWS policy holds the network-"
            "interface actions Lambda needs there and the writes to its own log stream.",
    })
