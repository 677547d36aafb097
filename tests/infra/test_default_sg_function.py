"""CDK's default-security-group function in the VPC it restricts (stacks/network/default_sg_function.py):
same-template subnets and security group (Control Tower CT.LAMBDA.PR.3), a path to the EC2 API
and to CloudFormation's S3 response bucket and nowhere else, created after (and deleted before)
that path, with only the permissions it needs."""

from __future__ import annotations

from contract.names import NETWORK_FUNCTION_GROUP_ID
from stacks.network.default_sg_function import EC2_ACTIONS
from tests.support.templates import only_resource, rendered, resources_of_type

FUNCTION_PATH = "Network/Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler"
HTTPS = {"FromPort": 443, "ToPort": 443, "IpProtocol": "tcp"}


def _by_path(template: dict, path: str) -> tuple[str, dict]:
    """(logical ID, resource) of the resource at construct path `path` below the stage."""
    (found,) = [(lid, r) for lid, r in template["Resources"].items()
                if r.get("Metadata", {}).get("aws:cdk:path", "").split("/", 1)[-1] == path]
    return found


def _group(template: dict, description_start: str) -> str:
    logical_id, _ = only_resource(template, "AWS::EC2::SecurityGroup",
                                  lambda r: r["Properties"]["GroupDescription"].startswith(description_start))
    return logical_id


def _ec2_endpoint(template: dict) -> tuple[str, dict]:
    return only_resource(template, "AWS::EC2::VPCEndpoint",
                         lambda r: rendered(r["Properties"]["ServiceName"], token="").endswith(".ec2"))


def test_the_function_runs_in_the_isolated_subnets_with_its_own_security_group(synthesized, env):
    network = synthesized.templates[env]["Network"]
    _, function = _by_path(network, FUNCTION_PATH)
    subnets = sorted(resources_of_type(network, "AWS::EC2::Subnet"))
    assert function["Properties"]["VpcConfig"] == {
        "SubnetIds": [{"Ref": subnet} for subnet in subnets],
        "SecurityGroupIds": [{"Fn::GetAtt": [_group(network, "Deploy-time default-SG restriction"), "GroupId"]}],
    }


def test_ops_knows_its_security_group_by_logical_id(synthesized, env):
    """`ops wait-lambda-enis` leaves this group out (the stack's deletion waits for it itself):
    only this group's logical id may contain the name ops looks for."""
    network = synthesized.templates[env]["Network"]
    named = [lid for lid in resources_of_type(network, "AWS::EC2::SecurityGroup") if NETWORK_FUNCTION_GROUP_ID in lid]
    assert named == [_group(network, "Deploy-time default-SG restriction")]


def test_its_security_group_reaches_only_the_ec2_endpoint_and_s3(synthesized, env):
    network = synthesized.templates[env]["Network"]
    group = network["Resources"][_group(network, "Deploy-time default-SG restriction")]["Properties"]
    endpoint_group = _group(network, "EC2 API endpoint")
    assert "SecurityGroupIngress" not in group
    assert [{k: v for k, v in rule.items() if k != "Description"} for rule in group["SecurityGroupEgress"]] == [
        {**HTTPS, "DestinationSecurityGroupId": {"Fn::GetAtt": [endpoint_group, "GroupId"]}},
        {**HTTPS, "CidrIp": "0.0.0.0/0"},  # S3's prefix list is known only to a lookup
    ]
    own_id = {"Fn::GetAtt": [_group(network, "Deploy-time default-SG restriction"), "GroupId"]}
    for kind in ("AWS::EC2::SecurityGroupEgress", "AWS::EC2::SecurityGroupIngress"):
        assert all(r["Properties"]["GroupId"] != own_id for r in resources_of_type(network, kind).values())


def test_the_ec2_endpoint_admits_only_the_function_and_only_its_calls(synthesized, env):
    network = synthesized.templates[env]["Network"]
    endpoint_group = _group(network, "EC2 API endpoint")
    function_group = _group(network, "Deploy-time default-SG restriction")
    _, endpoint = _ec2_endpoint(network)
    props = endpoint["Properties"]
    assert props["PrivateDnsEnabled"] is True
    assert props["SecurityGroupIds"] == [{"Fn::GetAtt": [endpoint_group, "GroupId"]}]
    (statement,) = props["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == sorted(EC2_ACTIONS)
    assert statement["Resource"]["Fn::Join"][1][-1] == {"Fn::GetAtt": [_vpc(network), "DefaultSecurityGroup"]}
    ingress = [r["Properties"] for r in resources_of_type(network, "AWS::EC2::SecurityGroupIngress").values()
               if r["Properties"]["GroupId"] == {"Fn::GetAtt": [endpoint_group, "GroupId"]}]
    assert [{k: v for k, v in rule.items() if k not in ("Description", "GroupId")} for rule in ingress] == [
        {**HTTPS, "SourceSecurityGroupId": {"Fn::GetAtt": [function_group, "GroupId"]}}]
    assert "SecurityGroupIngress" not in network["Resources"][endpoint_group]["Properties"]


def _vpc(network: dict) -> str:
    logical_id, _ = only_resource(network, "AWS::EC2::VPC")
    return logical_id


def test_the_custom_resource_waits_for_the_endpoints_the_route_to_s3_and_the_rules(synthesized, env):
    """CloudFormation creates it after, and deletes it before, what its function calls through
    (on Delete the function puts the default group's rules back)."""
    network = synthesized.templates[env]["Network"]
    _, custom = only_resource(network, "Custom::VpcRestrictDefaultSG")
    s3_endpoint, _ = only_resource(network, "AWS::EC2::VPCEndpoint",
                                   lambda r: r["Properties"]["VpcEndpointType"] == "Gateway")
    endpoint_group = _group(network, "EC2 API endpoint")
    (endpoint_ingress,) = [lid for lid, r in resources_of_type(network, "AWS::EC2::SecurityGroupIngress").items()
                           if r["Properties"]["GroupId"] == {"Fn::GetAtt": [endpoint_group, "GroupId"]}]
    needed = {_ec2_endpoint(network)[0], s3_endpoint, endpoint_group, endpoint_ingress,
              _group(network, "Deploy-time default-SG restriction"),
              *resources_of_type(network, "AWS::EC2::SubnetRouteTableAssociation"),
              *resources_of_type(network, "AWS::EC2::RouteTable")}
    assert needed <= set(custom["DependsOn"])


def test_its_answer_to_cloudformation_passes_the_s3_endpoint(synthesized, env):
    network = synthesized.templates[env]["Network"]
    _, gateway = only_resource(network, "AWS::EC2::VPCEndpoint",
                               lambda r: r["Properties"]["VpcEndpointType"] == "Gateway")
    sids = [s.get("Sid") for s in gateway["Properties"]["PolicyDocument"]["Statement"]]
    assert "CloudFormationResponsesOnly" in sids


def test_its_role_may_manage_network_interfaces_and_only_the_default_group(synthesized, env):
    network = synthesized.templates[env]["Network"]
    _, role = _by_path(network, "Network/Custom::VpcRestrictDefaultSGCustomResourceProvider/Role")
    # AWSLambdaVPCAccessExecutionRole: the network interfaces of a function in a VPC, and logs.
    assert [rendered(arn) for arn in role["Properties"]["ManagedPolicyArns"]] == [
        "arn:<token>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]
    (policy,) = role["Properties"]["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == sorted(EC2_ACTIONS)
    (resource,) = statement["Resource"]
    assert resource["Fn::Join"][1][-1] == {"Fn::GetAtt": [_vpc(network), "DefaultSecurityGroup"]}
