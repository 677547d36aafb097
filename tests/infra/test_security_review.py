"""The security review over the real templates: cdk-nag's acknowledgements, Control Tower's
exceptions (both pinned per environment), the validation report, cfn-lint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import Stack, Stage
from aws_cdk import aws_logs as logs
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

from checks.control_tower import (
    PLUGIN_NAME,
    RULE_TYPES_FILE,
    RULES,
    ControlTowerChecks,
    TemplatesToValidate,
    acknowledge_control_tower_exceptions,
    bundled_rule_types,
    control_tower_exceptions,
)
from checks.synthesis import add_synthesis_checks
from environments import ENVIRONMENTS
from tests.support.cdk_app import new_app
from tests.support.templates import only_resource, rendered, resources_of_type

LAMBDA_BASIC = ("AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]")
LAMBDA_VPC_ACCESS = LAMBDA_BASIC.replace("AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole")


def expected_acknowledgements(env: str) -> dict[str, set[str]]:
    """Every acknowledged cdk-nag finding of one environment, per construct path below the stage.

    A new acknowledgement must be added here too, so it shows up in review as a decision.
    """
    search = ENVIRONMENTS[env].search
    domain = {"AwsSolutions-OS3", "AwsSolutions-OS5"}
    if search.master_node_count == 0:
        domain.add("AwsSolutions-OS4")
    if search.availability_zone_count == 1:
        domain.add("AwsSolutions-OS7")
    arn = "arn:<AWS::Partition>:{}:<AWS::Region>:<AWS::AccountId>:{}"
    fgac = {
        "Search/Search/AdminRole": {
            LAMBDA_BASIC, LAMBDA_BASIC.replace("AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole"),
            "AwsSolutions-IAM5[Resource::<SearchDomain62FD613E.Arn>/*]"},
    } if search.fine_grained_access_control else {}
    # Without fine-grained access control the deploy-time function runs as a bootstrap role.
    bootstrap = {} if search.fine_grained_access_control else {
        "Search/Search/IndexBootstrapRole": {
            LAMBDA_BASIC, LAMBDA_BASIC.replace("AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole")},
    }
    return {
        **fgac,
        **bootstrap,
        "Fleet/Workers/Group": {"AwsSolutions-EC26"},
        # In the VPC (stacks/stateful/handlers_in_vpc.py): the VPC-access policy replaces the basic one.
        "Stateful/BucketNotificationsHandler050a0587b7544547bf325f094a3db834": {LAMBDA_VPC_ACCESS},
        "Stateful/WorkerAccess/Policy": {"AwsSolutions-IAM5[Resource::<RawFilesBucket49AA96EA.Arn>/raw-files/*]"},
        "Search/Search/Domain": domain,
        "Search/Search/WriterAccess/Policy": {
            "AwsSolutions-IAM5[Resource::<SearchDomain62FD613E.Arn>/file-index-write/*]"},
        "Fleet/Workers/WorkerRole": {
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-IAM5[Resource::" + arn.format(
                "autoscaling", f"autoScalingGroup:*:autoScalingGroupName/file-search-{env}-fleet-workers]"),
            "AwsSolutions-IAM5[Resource::" + arn.format("cloudformation", f"stack/file-search-{env}-fleet/*]"),
        },
    }


BUCKETS = {
    "Stateful/RawFiles/AccessLogs": {"CT.S3.PR.2", "CT.S3.PR.9", "CT.S3.PR.10"},
    "Stateful/RawFiles/Bucket": {"CT.S3.PR.4", "CT.S3.PR.9"},
}
LOG_GROUPS = ["Fleet/Workers/WorkerLogs", "Network/WorkerNetwork/FlowLogs", "Search/Search/ErrorLogs",
              "Search/Search/SlowIndexLogs", "Search/Search/SlowSearchLogs"]
SETTINGS_LOG_GROUPS = ["Fleet/SearchSecuritySettings/HandlerLogs"]
# CDK's deploy-time functions' declared log groups (stacks/shared/function_logs.py).
CDK_HANDLER_LOG_GROUPS = ["Network/Custom::VpcRestrictDefaultSGCustomResourceProvider/Logs",
                          "Stateful/BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Logs"]
AUTO_DELETE_LOG_GROUP = "Stateful/Custom::S3AutoDeleteObjectsCustomResourceProvider/Logs"
FGAC_LOG_GROUPS = ["Search/Search/AuditLogs", *SETTINGS_LOG_GROUPS]

# Every Control Tower control an environment does not meet, per construct path below the stage.
# Written out, not computed: a new exception must be added here too, so review sees it.
EXPECTED_CONTROL_TOWER_EXCEPTIONS = {
    "dev": {
        **BUCKETS,
        **{path: {"CT.CLOUDWATCH.PR.2"}
           for path in LOG_GROUPS + SETTINGS_LOG_GROUPS + CDK_HANDLER_LOG_GROUPS + [AUTO_DELETE_LOG_GROUP]},
        "Search/Search/Domain": {"CT.OPENSEARCH.PR.13", "CT.OPENSEARCH.PR.14", "CT.OPENSEARCH.PR.15"},
        "Fleet/Workers/Group": {"CT.AUTOSCALING.PR.11"},
    },
    "staging": {
        **BUCKETS,
        **{path: {"CT.CLOUDWATCH.PR.2"} for path in LOG_GROUPS + FGAC_LOG_GROUPS + CDK_HANDLER_LOG_GROUPS},
        "Search/Search/Domain": {"CT.OPENSEARCH.PR.14"},
        "Fleet/Workers/Group": {"CT.AUTOSCALING.PR.11"},
    },
    "prod": {**BUCKETS},
}


# Controls an environment misses only because it is configured cheaper than prod.
CHEAPER_THAN_PROD = {"CT.CLOUDWATCH.PR.2", "CT.CLOUDWATCH.PR.3", "CT.OPENSEARCH.PR.13",
                     "CT.OPENSEARCH.PR.14", "CT.OPENSEARCH.PR.15", "CT.AUTOSCALING.PR.11"}


def acknowledgements(outdir: Path, env: str, plugin_prefix: str) -> dict[str, dict[str, str]]:
    """Construct path below the stage -> {acknowledged rule: reason}, for one plugin's rules."""
    found: dict[str, dict[str, str]] = {}
    for metadata_file in (outdir / f"assembly-{env}").glob("*.metadata.json"):
        for path, entries in json.loads(metadata_file.read_text()).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    below_stage = path.removeprefix(f"/{env}/")
                    for rule, reason in entry["data"].items():
                        if rule.startswith(plugin_prefix):
                            found.setdefault(below_stage, {})[rule.removeprefix(plugin_prefix)] = reason
    return found


def test_every_acknowledgement_is_expected_and_explained(synthesized, env):
    found = {path: {rule: reason for rule, reason in rules.items() if rule.startswith("AwsSolutions-")}
             for path, rules in acknowledgements(synthesized.outdir, env, "Annotation::").items()}
    found = {path: rules for path, rules in found.items() if rules}
    assert {path: set(rules) for path, rules in found.items()} == expected_acknowledgements(env)
    for rules in found.values():
        for rule, reason in rules.items():
            assert len(reason) >= 40, f"{rule}: reason too thin: {reason!r}"


def test_every_control_tower_exception_is_expected_and_explained(synthesized, env):
    control_of = {rule: control for control, rule in RULES.items()}
    found = acknowledgements(synthesized.outdir, env, f"{PLUGIN_NAME}::")
    assert {path: {control_of[rule] for rule in rules} for path, rules in found.items()} == \
        EXPECTED_CONTROL_TOWER_EXCEPTIONS[env]
    for rules in found.values():
        for rule, reason in rules.items():
            control = control_of[rule]
            assert reason.startswith(f"[{control}] "), reason
            assert len(reason) >= 60, f"{rule}: reason too thin: {reason!r}"
            # Cheaper settings than prod's say so in their reason.
            if control in CHEAPER_THAN_PROD and "CDK" not in reason:
                assert reason.startswith(f"[{control}] {env} only: "), reason


GRANTS_ONLY_FOR_AWS_RESOURCES = {
    "Sid": "GrantsOnlyForAwsResources", "Effect": "Deny", "Principal": {"AWS": "*"},
    "Action": "kms:CreateGrant", "Resource": "*",
    "Condition": {"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}},
}


def test_every_key_rotates_and_limits_grants_to_aws_resources(synthesized, env):
    keys = [k for t in synthesized.templates[env].values() for k in resources_of_type(t, "AWS::KMS::Key").values()]
    assert len(keys) >= 2  # the topics' key and the raw files' key, plus the log keys
    for key in keys:
        assert key["Properties"]["EnableKeyRotation"] is True
        assert GRANTS_ONLY_FOR_AWS_RESOURCES in key["Properties"]["KeyPolicy"]["Statement"]


def test_log_groups_are_encrypted_with_their_stacks_key(synthesized, env):
    """CT.CLOUDWATCH.PR.3: each stack with log groups has its own key, which CloudWatch Logs
    may use for that stack's log groups only (their generated names start with the stack's)."""
    wanted = ENVIRONMENTS[env].customer_managed_log_key
    checked = 0
    for stack, template in synthesized.templates[env].items():
        log_groups = resources_of_type(template, "AWS::Logs::LogGroup")
        if not log_groups:
            continue
        if not wanted:
            assert all("KmsKeyId" not in g["Properties"] for g in log_groups.values())
            continue
        key_id, key = only_resource(template, "AWS::KMS::Key",
                                    lambda k: "CloudWatch log groups" in k["Properties"]["Description"])
        for group in log_groups.values():
            assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
            assert "LogGroupName" not in group["Properties"], "a generated name, which the key policy matches"
            checked += 1
        (logs_statement,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
                             if "Service" in s.get("Principal", {})]
        assert rendered(logs_statement["Principal"]["Service"]) == "logs.<token>.amazonaws.com"
        assert "kms:CreateGrant" not in logs_statement["Action"]
        (pattern,) = logs_statement["Condition"]["ArnLike"].values()
        assert list(logs_statement["Condition"]["ArnLike"]) == ["kms:EncryptionContext:aws:logs:arn"]
        assert rendered(pattern).endswith(f":log-group:file-search-{env}-{stack.lower()}-*")
    # worker, flow, three domain logs (+ audit with fine-grained access control), the
    # security-settings function, CDK's notifications and default-SG functions (+ auto-delete)
    config = ENVIRONMENTS[env]
    extra = (1 if config.search.configures_security_plugin else 0) + (
        1 if config.bucket.auto_delete_objects else 0)
    assert checked == ((8 + extra) if wanted else 0)


def test_validation_report_is_written_and_clean(synthesized):
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    assert report["title"] == "Validation Report"
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    # Control Tower's rules ran, at the pinned version (plugins without findings are not listed).
    assert plugins["cdk-validator-cfnguard"]["pluginVersion"] == "0.0.62"
    assert plugins["cdk-validator-cfnguard"]["conclusion"] == "success"
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


def test_a_control_tower_violation_fails_synthesis(tmp_path):
    """A log group that is neither encrypted nor kept a year, in a stack of no environment."""
    app = new_app(tmp_path)
    logs.LogGroup(Stack(app, "Lonely"), "Logs", retention=logs.RetentionDays.ONE_WEEK)
    add_synthesis_checks(app)
    # The message names the control, the construct and how to acknowledge it.
    with pytest.raises(Exception, match=r"(?s)ValidationFailed: .*\[CT\.CLOUDWATCH\.PR\.3\].*Lonely/Logs/Resource.*"
                                        r"Acknowledge with 'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check'"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    (guard,) = [p for p in report["pluginReports"] if p["pluginName"] == PLUGIN_NAME]
    assert guard["conclusion"] == "failure"
    found = {(v["ruleName"], c["constructPath"]) for v in guard["violations"] for c in v["violatingConstructs"]}
    assert found == {(RULES["CT.CLOUDWATCH.PR.2"], "Lonely/Logs/Resource"),
                     (RULES["CT.CLOUDWATCH.PR.3"], "Lonely/Logs/Resource")}


def test_an_exception_for_a_construct_that_does_not_exist_is_refused(tmp_path):
    stage = Stage(new_app(tmp_path), "dev")
    with pytest.raises(ValueError, match=r"Control Tower exception for 'Stateful/RawFiles/AccessLogs': "
                                         r"no such construct in dev"):
        acknowledge_control_tower_exceptions(stage, ENVIRONMENTS["dev"])


def test_no_environment_excepts_lambda_functions_outside_the_vpc(synthesized, env):
    """CT.LAMBDA.PR.3 is met everywhere (issue #24): every function, CDK's handlers too, runs in
    the VPC, so no environment may carry an exception for it."""
    found = acknowledgements(synthesized.outdir, env, f"{PLUGIN_NAME}::")
    assert [path for path, rules in found.items() if RULES["CT.LAMBDA.PR.3"] in rules] == []
    assert all("CT.LAMBDA.PR.3" not in controls
               for controls in control_tower_exceptions(ENVIRONMENTS[env]).values())
    # Every function has a VpcConfig: tests/infra/test_deploy_time_functions.py.


def violations(report) -> set[tuple[str, str, str]]:
    return {(v.rule_name, r.template_path, r.resource_logical_id)
            for v in report.violations for r in v.violating_resources}


def test_running_only_the_rules_for_each_templates_resource_types_finds_the_same(synthesized):
    """The plugin skips, per template, the rules about resource types it does not have; on the
    real templates (before acknowledgements) that finds exactly what all of Control Tower's
    rules find."""
    templates = TemplatesToValidate(sorted(str(p) for p in synthesized.outdir.glob("assembly-*/*.template.json")))
    checks = ControlTowerChecks()
    every_rule = CfnGuardValidator(control_tower_rules_enabled=True).validate(templates)
    only_relevant = checks.validate(templates)
    assert violations(every_rule) and violations(only_relevant) == violations(every_rule)
    skipped = checks.rules_without_resources({"AWS::Logs::LogGroup"})
    assert "ct-cloudwatch-pr-3" not in skipped and "ct-dynamodb-pr-1" in skipped
    assert checks.rule_ids == sorted(CfnGuardValidator(control_tower_rules_enabled=True).rule_ids)


def test_the_rule_types_table_matches_the_pinned_package():
    """Regenerate with `python -m checks.control_tower` after a version bump."""
    assert json.loads(RULE_TYPES_FILE.read_text()) == bundled_rule_types()
