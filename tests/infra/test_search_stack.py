"""Search stack: the OpenSearch domain, in every environment (the workers' index-write policy is
checked with the rest of their permissions in test_fleet_stack.py)."""

from __future__ import annotations

import json
import re
from unittest.mock import ANY

from environments import ENVIRONMENTS
from tests.support.templates import only_resource, rendered, resources_of_type


def search_domain(synthesized, env: str) -> dict:
    return only_resource(synthesized.templates[env]["Search"], "AWS::OpenSearchService::Domain")[1]


def test_search_domain_is_private_encrypted_and_sized_from_config(synthesized, env):
    settings = ENVIRONMENTS[env].search
    domain = search_domain(synthesized, env)
    props = domain["Properties"]
    assert props["EngineVersion"] == f"OpenSearch_{settings.engine_version}"
    assert props["EncryptionAtRestOptions"] == {"Enabled": True}
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert props["DomainEndpointOptions"] == {"EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"}
    assert len(props["VPCOptions"]["SubnetIds"]) == settings.availability_zone_count
    assert "AccessPolicies" not in props, "IAM identity policies only"
    cluster = props["ClusterConfig"]
    assert cluster["InstanceCount"] == settings.data_node_count
    assert cluster["InstanceType"] == settings.data_node_instance_type
    assert cluster["DedicatedMasterEnabled"] is (settings.master_node_count > 0)
    assert cluster["ZoneAwarenessEnabled"] is (settings.availability_zone_count > 1)
    audit = {"AUDIT_LOGS"} if settings.fine_grained_access_control else set()
    assert set(props["LogPublishingOptions"]) == {"SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS", *audit}
    assert domain["DeletionPolicy"] == ("Delete" if env == "dev" else "Retain")


def test_prod_search_is_multi_az_with_dedicated_masters(synthesized):
    cluster = search_domain(synthesized, "prod")["Properties"]["ClusterConfig"]
    assert cluster["DedicatedMasterCount"] == 3
    assert cluster["ZoneAwarenessConfig"] == {"AvailabilityZoneCount": 2}



# --- fine-grained access control ---------------------------------------------------------------

def test_fine_grained_access_control_with_an_iam_master_role_and_audit_logs(synthesized, env):
    settings = ENVIRONMENTS[env].search
    template = synthesized.templates[env]["Search"]
    props = search_domain(synthesized, env)["Properties"]
    if not settings.fine_grained_access_control:
        assert "AdvancedSecurityOptions" not in props
        assert "AUDIT_LOGS" not in props["LogPublishingOptions"]
        # No master role; the one role is the deploy-time index bootstrap's (test_fleet_stack).
        roles = resources_of_type(template, "AWS::IAM::Role")
        assert [r["Properties"]["Description"] for r in roles.values()] == [
            "Deploy-time: puts the file index's template and creates its first index and "
            "aliases (domain without fine-grained access control)"]
        return
    admin_id, admin = only_resource(template, "AWS::IAM::Role", lambda r: "master user" in r["Properties"].get("Description", ""))
    assert props["AdvancedSecurityOptions"] == {
        "Enabled": True, "InternalUserDatabaseEnabled": False,
        "MasterUserOptions": {"MasterUserARN": {"Fn::GetAtt": [admin_id, "Arn"]}}}
    assert props["LogPublishingOptions"]["AUDIT_LOGS"]["Enabled"] is True
    # Administrators come from config (a role in the deploying account); the deploy-time
    # security settings run as this role, hence Lambda.
    statements = admin["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert {"Action": "sts:AssumeRole", "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"}} in statements
    (administrators,) = [s for s in statements if "AWS" in s["Principal"]]
    assert_trusts_account_limited_to(administrators, settings.admin_role_name)
    assert len(statements) == 2, statements
    (policy,) = [p for p in resources_of_type(template, "AWS::IAM::Policy").values()
                 if p["Properties"]["Roles"] == [{"Ref": admin_id}]]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    domain_arn = {"Fn::GetAtt": ["SearchDomain62FD613E", "Arn"]}
    assert statement["Resource"] == [domain_arn, {"Fn::Join": ["", [domain_arn, "/*"]]}]
    assert all(a.startswith("es:ESHttp") for a in statement["Action"])


def assert_trusts_account_limited_to(statement: dict, role_name: str) -> None:
    """The account is the principal, and `aws:PrincipalArn` admits exactly `role_name`: IAM
    rejects a trust policy whose principal is a role that does not exist yet (issue #18)."""
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    # `{}` stands for a token (partition, account id) unless the environment sets an account.
    account_arn = r"arn:(\{\}|aws[\w-]*):iam::(\{\}|\d{12}):"
    principal = rendered(statement["Principal"]["AWS"], "{}")
    assert re.fullmatch(account_arn + "root", principal), f"the account, not a role: {principal}"
    assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": ANY}}
    role_arn = rendered(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"], "{}")
    assert re.fullmatch(account_arn + "role/" + re.escape(role_name), role_arn), role_arn


def test_staging_and_prod_have_fine_grained_access_control():
    assert [env for env, c in ENVIRONMENTS.items() if c.search.fine_grained_access_control] == ["staging", "prod"]


def test_log_publishing_policy_is_native_and_covers_only_this_apps_search_log_groups(synthesized, env):
    """CloudFormation writes the log resource policy itself: no deploy-time Lambda function.
    Each environment owns it by default (the account of each is unknown); one policy serves
    every domain of the app in an account (test_availability_zones.py shares it)."""
    template = synthesized.templates[env]["Search"]
    assert not resources_of_type(template, "Custom::CloudwatchLogResourcePolicy")
    assert not resources_of_type(template, "AWS::Lambda::Function")
    policy_id, policy = only_resource(template, "AWS::Logs::ResourcePolicy")
    assert policy["Properties"]["PolicyName"] == f"file-search-{env}-search-opensearch-logs"
    assert template["Outputs"]["OpenSearchLogPolicyName"]["Value"] == policy["Properties"]["PolicyName"]
    (statement,) = json.loads(rendered(policy["Properties"]["PolicyDocument"]))["Statement"]
    assert statement["Principal"] == {"Service": "es.amazonaws.com"}
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "<token>"}
    assert statement["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:<token>:es:<token>:<token>:domain/*"}
    # Log groups CloudFormation names `file-search-<env>-search-<logical id>-<suffix>`, and
    # OpenSearch's check at creation finds the policy.
    assert statement["Resource"] == "arn:<token>:logs:<token>:<token>:log-group:file-search-*-search-*"
    domain = search_domain(synthesized, env)
    assert all(option["CloudWatchLogsLogGroupArn"]["Fn::GetAtt"][0] in template["Resources"]
               for option in domain["Properties"]["LogPublishingOptions"].values())
    assert policy_id in domain["DependsOn"]
