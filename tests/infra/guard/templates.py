"""Hand-written template fragments for the guard's analysis tests: shapes CDK constructs never produce."""

from __future__ import annotations

from typing import Any


def queue(name: str | None = None) -> dict[str, Any]:
    return {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name} if name else {}}


def arn_of(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def queue_configuration(target: Any, event: str = "s3:ObjectCreated:*") -> dict[str, Any]:
    return {"Event": event, "Queue": target}


def bucket(*queue_configurations: Any, **more: Any) -> dict[str, Any]:
    return {"Type": "AWS::S3::Bucket", "Properties": {"NotificationConfiguration": {
        "QueueConfigurations": list(queue_configurations), **more}}}


def rule(pattern: Any, target: Any) -> dict[str, Any]:
    return {"Type": "AWS::Events::Rule", "Properties": {
        "EventPattern": pattern, "Targets": [{"Id": "1", "Arn": target}]}}
