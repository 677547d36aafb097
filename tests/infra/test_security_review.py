"""cdk-nag and cfn-lint over the real templates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from environments import ENVIRONMENTS

LAMBDA_BASIC = ("AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]")


def expected_acknowledgements(env: str) -> dict[str, set[str]]:
    """Every acknowledged cdk-nag finding of one environment, per construct path below the stage.

    A new acknowledgement must be added here too, so it shows up in review as a decision.
    """
    search = ENVIRONMENTS[env].search
    domain = {"AwsSolutions-IAM5[Resource::*]", "AwsSolutions-OS3", "AwsSolutions-OS5"}
    if search.master_node_count == 0:
        domain.add("AwsSolutions-OS4")
    if search.availability_zone_count == 1:
        domain.add("AwsSolutions-OS7")
    arn = "arn:<AWS::Partition>:{}:<AWS::Region>:<AWS::AccountId>:{}"
    return {
        "Stateful/BucketNotificationsHandler050a0587b7544547bf325f094a3db834": {LAMBDA_BASIC},
        "Stateful/WorkerAccess/Policy": {"AwsSolutions-IAM5[Resource::<RawFilesBucket49AA96EA.Arn>/raw-files/*]"},
        "Search/AWS679f53fac002430cb0da5b7982bd2287": {LAMBDA_BASIC},
        "Search/Search/Domain": domain,
        "Search/Search/WriterAccess/Policy": {
            "AwsSolutions-IAM5[Resource::<SearchDomain62FD613E.Arn>/file-index/*]"},
        "Fleet/Workers/WorkerRole": {
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-IAM5[Resource::" + arn.format(
                "autoscaling", f"autoScalingGroup:*:autoScalingGroupName/file-search-{env}-fleet-workers]"),
            "AwsSolutions-IAM5[Resource::" + arn.format("cloudformation", f"stack/file-search-{env}-fleet/*]"),
        },
    }


def acknowledgements(outdir: Path, env: str) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for metadata_file in (outdir / f"assembly-{env}").glob("*.metadata.json"):
        for path, entries in json.loads(metadata_file.read_text()).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    below_stage = path.removeprefix(f"/{env}/")
                    for rule, reason in entry["data"].items():
                        rule = rule.split("::", 1)[-1]
                        if rule.startswith("AwsSolutions-"):  # CDK acknowledges some of its own
                            found.setdefault(below_stage, {})[rule] = reason
    return found


def test_every_acknowledgement_is_expected_and_explained(synthesized, env):
    found = acknowledgements(synthesized.outdir, env)
    assert {path: set(rules) for path, rules in found.items()} == expected_acknowledgements(env)
    for rules in found.values():
        for rule, reason in rules.items():
            assert len(reason) >= 40, f"{rule}: reason too thin: {reason!r}"


def test_validation_report_is_written_and_clean(synthesized):
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    assert report["title"] == "Validation Report"
    assert [p for p in report["pluginReports"] if p.get("conclusion") == "failure"] == []


def test_cfn_lint_finds_nothing(synthesized):
    templates = sorted(str(p) for p in synthesized.outdir.glob("assembly-*/*.template.json"))
    assert len(templates) >= 3
    result = subprocess.run(
        # W3005: CDK adds DependsOn next to a GetAtt in its own notification/auto-delete
        # resources; harmless, and not ours to change.
        [str(Path(sys.executable).parent / "cfn-lint"), *templates, "--ignore-checks", "W3005"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
