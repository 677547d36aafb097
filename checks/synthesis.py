"""The checks every synthesis runs: cdk-nag's AwsSolutions pack, AWS Control Tower's proactive
controls (cfn-guard) and the notification guard."""

from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from checks.control_tower import ControlTowerChecks
from checks.notification_guard import SingleNotificationPathGuard


def add_synthesis_checks(app: App) -> None:
    """Make synthesis fail on any unacknowledged cdk-nag finding, any unacknowledged Control
    Tower control or a second notification path.

    Registered on the App, so they see every stack of every stage, including stacks that do
    not use this project's constructs. CDK writes the combined report to
    `<outdir>/validation-report.json`; acknowledged findings with their reasons are recorded
    as `aws:cdk:acknowledged-rules` in each stack's `<stack>.metadata.json`.
    """
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True),
        ControlTowerChecks(),
        SingleNotificationPathGuard(),
    )
