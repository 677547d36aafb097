"""Every Lambda function in the templates, per environment: each one is code with IAM
permissions that runs in the account, so the list is pinned and documented (docs/security.md,
"Deploy-time functions"). A new function fails here until it is added, with its reason, there."""

from __future__ import annotations

import pytest

from environments import ENVIRONMENTS
from tests.support.templates import resources_of_type

# Construct path below the stage -> where it runs. All are deploy-time custom-resource
# functions; the workers are EC2 instances, not functions.
NOTIFICATIONS = "Stateful/BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Resource"
DEFAULT_SG = "Network/Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler"
AUTO_DELETE = "Stateful/Custom::S3AutoDeleteObjectsCustomResourceProvider/Handler"
SECURITY_HANDLER = "Fleet/SearchSecuritySettings/Handler/Resource"

EXPECTED_FUNCTIONS = {
    # dev's SearchSecuritySettings only creates the index template, index and aliases (IAM).
    "dev": {NOTIFICATIONS, DEFAULT_SG, AUTO_DELETE, SECURITY_HANDLER},
    "staging": {NOTIFICATIONS, DEFAULT_SG, SECURITY_HANDLER},
    "prod": {NOTIFICATIONS, DEFAULT_SG, SECURITY_HANDLER},
}
# Issue #24's target. Before #24 prod had 5: CDK's AwsCustomResource wrote the domain's log
# resource policy, and a provider framework relayed the security settings' answer.
MAX_PROD_FUNCTIONS = 3


def functions(synthesized, env: str) -> dict[str, dict]:
    """Construct path below the stage -> the function's resource, across every stack."""
    found = {}
    for template in synthesized.templates[env].values():
        for function in resources_of_type(template, "AWS::Lambda::Function").values():
            found[function["Metadata"]["aws:cdk:path"].removeprefix(f"{env}/")] = function
    return found


def test_every_function_is_expected(synthesized, env):
    assert set(functions(synthesized, env)) == EXPECTED_FUNCTIONS[env]


def test_prod_has_at_most_three_functions(synthesized):
    assert len(functions(synthesized, "prod")) <= MAX_PROD_FUNCTIONS


def test_every_function_runs_in_the_vpc(synthesized, env):
    """Control Tower's CT.LAMBDA.PR.3, for all of them since #24: CDK's Stateful handlers
    (test_stateful_handlers_in_vpc.py), the default-SG function (test_default_sg_function.py)
    and the security settings."""
    for path, function in functions(synthesized, env).items():
        config = function["Properties"].get("VpcConfig", {})
        assert config.get("SubnetIds") and config.get("SecurityGroupIds"), path


def test_every_function_logs_into_a_declared_encrypted_log_group_with_retention(synthesized, env):
    """#24: CDK's handlers too (stacks/shared/function_logs.py): no implicit /aws/lambda/<name>
    group with default encryption that never expires."""
    for template in synthesized.templates[env].values():
        for function in resources_of_type(template, "AWS::Lambda::Function").values():
            path = function["Metadata"]["aws:cdk:path"]
            log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
            group = template["Resources"][log_group_id]
            assert group["Type"] == "AWS::Logs::LogGroup", path
            assert "KmsKeyId" in group["Properties"], path
            assert group["Properties"]["RetentionInDays"] == ENVIRONMENTS[env].log_retention_days, path


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_function_that_talks_to_the_domain_runs_in_the_vpc_with_an_encrypted_log_group(synthesized, env):
    """The function that calls something inside the VPC (the domain's security API). CDK's
    default-SG function runs in the VPC too (test_default_sg_function.py)."""
    handler = functions(synthesized, env)[SECURITY_HANDLER]["Properties"]
    assert handler["VpcConfig"]["SubnetIds"] and handler["VpcConfig"]["SecurityGroupIds"]
    fleet = synthesized.templates[env]["Fleet"]
    log_group_id = handler["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = fleet["Resources"][log_group_id]["Properties"]
    assert "KmsKeyId" in log_group and log_group["RetentionInDays"] >= 30


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_cloudformation_invokes_the_security_settings_function_directly(synthesized, env):
    """One function, no provider framework: it is the custom resource's ServiceToken, answers
    CloudFormation itself, and CloudFormation stops waiting soon after its timeout."""
    fleet = synthesized.templates[env]["Fleet"]
    (handler_id,) = [logical_id for logical_id, f in resources_of_type(fleet, "AWS::Lambda::Function").items()
                     if f["Metadata"]["aws:cdk:path"] == f"{env}/{SECURITY_HANDLER}"]
    handler = fleet["Resources"][handler_id]["Properties"]
    assert handler["Handler"] == "respond.handler"
    (settings,) = resources_of_type(fleet, "Custom::OpenSearchSecurity").values()
    assert settings["Properties"]["ServiceToken"] == {"Fn::GetAtt": [handler_id, "Arn"]}
    assert handler["Timeout"] < int(settings["Properties"]["ServiceTimeout"]) <= 600
