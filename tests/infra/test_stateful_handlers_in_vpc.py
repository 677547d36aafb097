"""The Stateful stack's CDK handlers in the VPC (stacks/stateful/handlers_in_vpc.py): the Network
stack's subnets and one security group of this stack, named so that Control Tower's
CT.LAMBDA.PR.3 accepts them; HTTPS egress only; the VPC-access policy on their roles; their
custom resources after the group; and Stateful deploying after Network, not before."""

from __future__ import annotations

import json

from contract.names import STATEFUL_FUNCTION_GROUP_ID
from environments import ENVIRONMENTS
from tests.infra.test_fleet_stack import from_ssm_parameter
from tests.support.templates import only_resource, resources_of_type

NOTIFICATIONS = "Stateful/BucketNotificationsHandler050a0587b7544547bf325f094a3db834"
AUTO_DELETE = "Stateful/Custom::S3AutoDeleteObjectsCustomResourceProvider"
VPC_ACCESS = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"},
                                ":iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]]}


def _by_path(template: dict, path: str) -> tuple[str, dict]:
    (found,) = [(lid, r) for lid, r in template["Resources"].items()
                if r.get("Metadata", {}).get("aws:cdk:path", "").split("/", 1)[-1] == path]
    return found


def _handlers(env: str) -> list[str]:
    return [NOTIFICATIONS, *([AUTO_DELETE] if ENVIRONMENTS[env].bucket.auto_delete_objects else [])]


def _group(stateful: dict) -> tuple[str, dict]:
    return only_resource(stateful, "AWS::EC2::SecurityGroup")


def test_both_handlers_run_in_the_networks_subnets_with_the_stateful_group(synthesized, env):
    stateful = synthesized.templates[env]["Stateful"]
    group_id, _ = _group(stateful)
    network_subnets = sorted(resources_of_type(synthesized.templates[env]["Network"], "AWS::EC2::Subnet"))
    functions = resources_of_type(stateful, "AWS::Lambda::Function")
    assert len(functions) == len(_handlers(env))
    for handler in _handlers(env):
        function_path = f"{handler}/Resource" if handler == NOTIFICATIONS else f"{handler}/Handler"
        _, function = _by_path(stateful, function_path)
        config = function["Properties"]["VpcConfig"]
        # A same-template Ref for the group; plain strings (SSM dynamic references) for the
        # subnets: what CT.LAMBDA.PR.3 accepts, and no cross-stack reference.
        assert config["SecurityGroupIds"] == [{"Ref": group_id}]
        subnets = [from_ssm_parameter(synthesized, env, s) for s in config["SubnetIds"]]
        assert sorted(s["Ref"] for s in subnets) == network_subnets


def test_their_group_is_in_the_networks_vpc_with_https_egress_only(synthesized, env):
    stateful = synthesized.templates[env]["Stateful"]
    group_id, group = _group(stateful)
    props = group["Properties"]
    (vpc,) = resources_of_type(synthesized.templates[env]["Network"], "AWS::EC2::VPC")
    assert from_ssm_parameter(synthesized, env, props["VpcId"]) == {"Ref": vpc}
    assert "SecurityGroupIngress" not in props
    assert resources_of_type(stateful, "AWS::EC2::SecurityGroupIngress") == {}
    assert resources_of_type(stateful, "AWS::EC2::SecurityGroupEgress") == {}
    assert [{k: v for k, v in rule.items() if k != "Description"} for rule in props["SecurityGroupEgress"]] == [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]
    # `ops wait-lambda-enis` finds it by its logical id (ops/teardown.py).
    assert STATEFUL_FUNCTION_GROUP_ID in group_id


def test_their_roles_have_the_vpc_access_policy_instead_of_the_basic_one(synthesized, env):
    stateful = synthesized.templates[env]["Stateful"]
    for handler in _handlers(env):
        _, role = _by_path(stateful, f"{handler}/Role" if handler == AUTO_DELETE else f"{handler}/Role/Resource")
        assert role["Properties"]["ManagedPolicyArns"] == [VPC_ACCESS]


def test_their_custom_resources_wait_for_the_group(synthesized, env):
    stateful = synthesized.templates[env]["Stateful"]
    group_id, _ = _group(stateful)
    custom = {lid: r for lid, r in stateful["Resources"].items()
              if r["Type"] in ("Custom::S3BucketNotifications", "Custom::S3AutoDeleteObjects")}
    auto_delete = 2 if ENVIRONMENTS[env].bucket.auto_delete_objects else 0  # both buckets
    assert len(custom) == 1 + auto_delete
    for resource in custom.values():
        assert group_id in resource["DependsOn"]


def test_the_network_publishes_the_vpc_id(synthesized, env):
    (vpc,) = resources_of_type(synthesized.templates[env]["Network"], "AWS::EC2::VPC")
    assert from_ssm_parameter(synthesized, env, "{{resolve:ssm:/file-search-" + env + "/network/vpc-id}}") == \
        {"Ref": vpc}


def test_stateful_deploys_after_network_and_not_the_reverse(synthesized, env):
    manifest = json.loads((synthesized.outdir / f"assembly-{env}" / "manifest.json").read_text())
    artifact = {a["displayName"]: k for k, a in manifest["artifacts"].items()
                if a["type"] == "aws:cloudformation:stack"}
    depends = {name: set(manifest["artifacts"][k].get("dependencies", [])) for name, k in artifact.items()}
    assert artifact[f"{env}/Network"] in depends[f"{env}/Stateful"]
    assert artifact[f"{env}/Stateful"] not in depends[f"{env}/Network"]
