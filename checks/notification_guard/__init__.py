"""Synthesis-time guard: a queue may receive S3 events through exactly one path.

The incident: the bucket had several QueueConfigurations *and* EventBridge forwarding to the
same queue, so every upload became several messages. This guard is a CDK policy-validation
plugin: it reads every synthesized template of the app (whatever construct, L1 or L2, wrote
it) and fails synthesis when one queue is reached by more than one path. Where each part is:

- `template_graph.py`: resolving Ref / GetAtt / ImportValue / GetStackOutput / literal ARNs
  across all templates;
- `conditions.py`: following both branches of `Fn::If` and resources under a `Condition`;
- `bucket_notifications.py`: reading a bucket's NotificationConfiguration in both shapes;
- `detectors/`: one module per kind of path: `queue_configurations`, `eventbridge_on_bucket`,
  `eventbridge_rules`, `pipes`, `sns_topics`; and `lambda_functions`, the bucket's Lambda
  notifications listed for review (a warning, see README "One notification path");
- `analysis.py`: runs the detectors and groups the paths by queue;
- `findings.py`: what is reported, rule names and messages;
- `cdk_plugin.py`: `SingleNotificationPathGuard`, the adapter CDK calls on every synthesis.

`find_duplicate_paths` and `find_lambda_notifications` work on plain template dicts so that
tests can feed them any shape.
"""

from checks.notification_guard.analysis import find_duplicate_paths, find_lambda_notifications
from checks.notification_guard.cdk_plugin import SingleNotificationPathGuard
from checks.notification_guard.findings import (
    LAMBDA_REVIEW_RULE_NAME,
    RULE_NAME,
    LambdaNotification,
    NotificationPath,
    Violation,
)

__all__ = [
    "LAMBDA_REVIEW_RULE_NAME",
    "RULE_NAME",
    "LambdaNotification",
    "NotificationPath",
    "SingleNotificationPathGuard",
    "Violation",
    "find_duplicate_paths",
    "find_lambda_notifications",
]
