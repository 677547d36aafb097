"""Review list, not a path: a bucket's Lambda function configurations.

A function notified by the bucket could send the events on to the queue; templates cannot show
what its code does, so the guard lists each one (bucket, function, events, prefix) as a warning
for a reviewer instead of failing synthesis.
"""

from __future__ import annotations

from checks.notification_guard.bucket_notifications import notification_sources, s3_filter
from checks.notification_guard.findings import LambdaNotification, NotificationPath
from checks.notification_guard.template_graph import TemplateGraph


def detect(graph: TemplateGraph, direct: list[NotificationPath]) -> list[LambdaNotification]:
    """`direct`: the QueueConfiguration paths, to name the queues the bucket already notifies."""
    found = []
    for source in notification_sources(graph):
        queues = tuple(dict.fromkeys(
            graph.display_name(p.queue) for p in direct if p.bucket == source.bucket))
        # CloudFormation's shape, then the S3 API's (CDK's notifications custom resource).
        for assumptions, _, entry, location in source.entries("LambdaConfigurations",
                                                              "LambdaFunctionConfigurations"):
            for function_assumptions, function, _ in source.reader.branches(
                entry.get("Function") or entry.get("LambdaFunctionArn"), location, assumptions
            ):
                found.append(LambdaNotification(
                    bucket_name=graph.display_name(source.bucket),
                    function_name=graph.display_name(graph.resolve(function, source.template_path)),
                    events=s3_filter(entry),
                    queues_of_the_bucket=queues,
                    template_path=source.template_path, logical_id=source.logical_id,
                    location=location, assumptions=function_assumptions,
                ))
    return found
