"""Fill gaps in moto 5.2.5's server where its answer differs from AWS's, faithfully and minimally.

GetBucketNotificationConfiguration: moto stores a bucket's `EventBridgeConfiguration` (and sends
events to EventBridge when it is set) but leaves it out of the answer, so a client cannot see
that EventBridge is on. AWS returns `<EventBridgeConfiguration/>` when it is enabled. The patch
adds exactly that element to moto's answer, from moto's own stored state.

Removal events on a versioned bucket: see `patch_moto_removal_events`.

SQS deletes racing each other, and receives racing each other: see `_lock_sqs_deletes` and
`_lock_sqs_receives`.
"""

from __future__ import annotations

from typing import Any

_PATCHED = False


def patch_moto() -> None:
    """Idempotent; call before the server answers its first request."""
    global _PATCHED
    if _PATCHED:
        return
    from moto.core.responses import ActionResult
    from moto.s3.responses import S3Response

    original = S3Response.get_bucket_notification

    def get_bucket_notification(self: S3Response) -> Any:
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if config is None or config.event_bridge is None:
            return original(self)

        def entry(item: Any, arn_key: str) -> dict[str, Any]:
            out: dict[str, Any] = {"Id": item.id, arn_key: item.arn, "Events": item.events}
            if item.filters:
                out["Filter"] = {"Key": {"FilterRules": item.filters["S3Key"]["FilterRule"]}}
            return out

        self.data["Action"] = "GetBucketNotificationConfiguration"
        return self.serialized(ActionResult({
            "TopicConfigurations": [entry(t, "TopicArn") for t in config.topic],
            "QueueConfigurations": [entry(q, "QueueArn") for q in config.queue],
            "LambdaFunctionConfigurations": [entry(f, "LambdaFunctionArn")
                                             for f in config.cloud_function],
            "EventBridgeConfiguration": {},
        }))

    S3Response.get_bucket_notification = get_bucket_notification
    _lock_sqs_deletes()
    _lock_sqs_receives()
    _PATCHED = True


def _lock_sqs_deletes() -> None:
    """moto 5.2.5's Queue.delete_message rebuilds the queue's message list without the lock
    that add_message holds: two deletes at once can each write back the other's message, which
    then stays in the queue after it was deleted (invisible for its visibility timeout; the
    worker's eight threads delete concurrently). SQS deletes atomically: take moto's own lock."""
    from moto.sqs.models import Queue

    original = Queue.delete_message

    def delete_message(self: Any, receipt_handle: str) -> None:
        with self._messages_lock:  # a Condition over an RLock: add_message's lock
            original(self, receipt_handle)

    Queue.delete_message = delete_message


_REMOVALS_PATCHED = False


class _RemovedVersion:
    """What moto's event builder reads from a key, for a removal that left no key behind."""

    def __init__(self, name: str, version_id: str) -> None:
        self.name, self.version_id, self.size, self.etag = name, version_id, 0, ""


def patch_moto_removal_events() -> None:
    """Removal events on a versioned bucket, as S3 sends them (moto 5.2.5 sends none for a
    delete marker, and for a version delete only once the key's last version is gone, both
    without `versionId`): `ObjectRemoved:DeleteMarkerCreated` with the marker's version id for a
    plain delete, `ObjectRemoved:Delete` with the deleted version's id for a version delete that
    leaves versions behind. Like S3's, their `object` has no size or ETag. Idempotent."""
    global _REMOVALS_PATCHED
    if _REMOVALS_PATCHED:
        return
    from moto.s3 import notifications
    from moto.s3.models import S3Backend

    original_event = notifications._get_s3_event

    def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict:
        body = original_event(event_name, bucket, key, notification_id)
        if isinstance(key, _RemovedVersion):
            obj = body["Records"][0]["s3"]["object"]
            body["Records"][0]["s3"]["object"] = {"key": obj["key"], "versionId": key.version_id}
        return body

    original_delete = S3Backend.delete_object

    def delete_object(self: Any, bucket_name: str, key_name: str, version_id: str | None = None,
                      *args: Any, **kwargs: Any) -> Any:
        bucket = self.get_bucket(bucket_name)
        versioned = bucket.is_versioned
        deleted, meta = original_delete(self, bucket_name, key_name, version_id, *args, **kwargs)
        if deleted and versioned:
            if version_id is None:
                event = notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT
                notifications.send_event(self.account_id, event, bucket,
                                         _RemovedVersion(key_name, meta["version-id"]))
            elif key_name in bucket.keys:  # moto itself sent the event if no version is left
                notifications.send_event(self.account_id,
                                         notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_EVENT,
                                         bucket, _RemovedVersion(key_name, version_id))
        return deleted, meta

    notifications._get_s3_event = s3_event
    S3Backend.delete_object = delete_object
    _REMOVALS_PATCHED = True


def _lock_sqs_receives() -> None:
    """moto 5.2.5's receive_message picks the visible messages and marks them received without
    a lock: two receives at once can both pick one message, which is then delivered twice
    although neither receipt has expired (seen with the worker's eight threads: a file indexed
    and then reported "unchanged"). SQS hides a received message from other receivers at once:
    take the queue's lock for the whole receive. A long poll waits on that lock's condition
    (`Queue.wait_for_messages`), which releases it while waiting, so sends and deletes go on."""
    from moto.sqs.models import SQSBackend

    original = SQSBackend.receive_message

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        with self.get_queue(queue_name)._messages_lock:
            return original(self, queue_name, *args, **kwargs)

    SQSBackend.receive_message = receive_message
