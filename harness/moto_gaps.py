"""Fill gaps in moto 5.2.5's server where its answer differs from AWS's, faithfully and minimally.

GetBucketNotificationConfiguration: moto stores a bucket's `EventBridgeConfiguration` (and sends
events to EventBridge when it is set) but leaves it out of the answer, so a client cannot see
that EventBridge is on. AWS returns `<EventBridgeConfiguration/>` when it is enabled. The patch
adds exactly that element to moto's answer, from moto's own stored state.
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
    _PATCHED = True
