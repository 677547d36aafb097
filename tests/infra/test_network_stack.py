"""Network stack: isolated subnets, flow logs, VPC endpoints and security groups, in every
environment."""

from __future__ import annotations

import json
import re

from environments import ENVIRONMENTS
from stacks.network.worker_network import INTERFACE_ENDPOINTS
from tests.support.templates import only_resource, rendered, resources_of_type

ANYWHERE = ("0.0.0.0/0", "::/0")


def in_every_stack(synthesized, env: str, kind: str) -> list[dict]:
    """Resources of `kind` in all stacks of the environment: nothing outside Network may open a path."""
    return [r for t in synthesized.templates[env].values() for r in resources_of_type(t, kind).values()]


def interface_endpoints(synthesized, env: str) -> list[dict]:
    return [e["Properties"] for e in resources_of_type(synthesized.templates[env]["Network"], "AWS::EC2::VPCEndpoint").values()
            if e["Properties"].get("VpcEndpointType") == "Interface"]


def security_group_id(template: dict, description_start: str) -> str:
    logical_id, _ = only_resource(template, "AWS::EC2::SecurityGroup",
                                  lambda r: r["Properties"]["GroupDescription"].startswith(description_start))
    return logical_id


def test_no_nat_no_internet_gateway_only_isolated_subnets(synthesized, env):
    for kind in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EgressOnlyInternetGateway"):
        assert in_every_stack(synthesized, env, kind) == [], kind
    for route in in_every_stack(synthesized, env, "AWS::EC2::Route"):
        assert route["Properties"].get("DestinationCidrBlock") not in ANYWHERE
    subnets = in_every_stack(synthesized, env, "AWS::EC2::Subnet")
    assert len(subnets) == 2
    for subnet in subnets:
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


def test_flow_logs_go_to_a_log_group_with_retention(synthesized, env):
    _, flow_log = only_resource(synthesized.templates[env]["Network"], "AWS::EC2::FlowLog")
    assert flow_log["Properties"]["LogDestinationType"] == "cloud-watch-logs"
    template = synthesized.template(env, "Network")
    template.has_resource_properties("AWS::Logs::LogGroup", {
        "RetentionInDays": ENVIRONMENTS[env].network.flow_log_retention_days})


def test_interface_endpoints_for_every_api_the_instances_call(synthesized, env):
    interface = interface_endpoints(synthesized, env)
    services = set()
    for props in interface:
        assert props["PrivateDnsEnabled"] is True
        assert len(props["SecurityGroupIds"]) == 1
        services.add(rendered(props["ServiceName"], token=""))
    suffixes = {s.rsplit(".", 1)[-1] for s in services}
    # ec2: only for CDK's default-SG function in the VPC (test_default_sg_function.py).
    assert suffixes == {"sqs", "logs", "monitoring", "ssm", "ssmmessages", "ec2messages", "autoscaling",
                        "cloudformation", "ec2"}
    assert len(interface) == len(INTERFACE_ENDPOINTS) + 1


def test_interface_endpoints_sit_in_the_configured_number_of_azs(synthesized, env):
    azs = ENVIRONMENTS[env].network.interface_endpoint_azs or ENVIRONMENTS[env].network.max_azs
    subnets = {tuple(map(str, e["SubnetIds"])) for e in interface_endpoints(synthesized, env)}
    assert len(subnets) == 1, "every endpoint in the same subnets"
    (chosen,) = subnets
    assert len(chosen) == azs


def s3_gateway_statements(synthesized, env: str) -> dict[str, dict]:
    _, gateway = only_resource(synthesized.templates[env]["Network"], "AWS::EC2::VPCEndpoint",
                               lambda r: r["Properties"]["VpcEndpointType"] == "Gateway")
    statements = gateway["Properties"]["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert len(by_sid) == len(statements), "one statement per Sid"
    for statement in statements:
        assert (statement["Effect"], statement["Principal"]) == ("Allow", {"AWS": "*"})
    return by_sid


THIS_ACCOUNT = {"StringEquals": {"aws:ResourceAccount": {"Ref": "AWS::AccountId"}}}
EVERY_BUCKET = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::*"]]}


def test_s3_gateway_endpoint_only_admits_what_the_fleet_and_the_handlers_need(synthesized, env):
    statements = s3_gateway_statements(synthesized, env)
    auto_delete = ENVIRONMENTS[env].bucket.auto_delete_objects
    assert set(statements) == {
        "ReadOnlyRawFilesInThisAccount", "ReadOnlyBootObjects", "ListOnlyBucketsInThisAccount",
        "BucketHandlersInThisAccount", "CloudFormationResponsesOnly",
        *(["AutoDeleteObjectsInThisAccount"] if auto_delete else [])}
    # The raw files: objects under the raw prefix, in this account's buckets only.
    raw = statements["ReadOnlyRawFilesInThisAccount"]
    assert raw["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert raw["Resource"] == {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::*/raw-files/*"]]}
    assert raw["Condition"] == THIS_ACCOUNT
    # What an instance downloads at boot: exact buckets, one of them AWS's (no account condition).
    boot = statements["ReadOnlyBootObjects"]
    assert boot["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert "Condition" not in boot
    resources = [rendered(r) for r in boot["Resource"]]
    assert any(re.search(r":s3:::cdk-hnb659fds-assets-<token>-<token>/\*$", r) for r in resources)
    assert any(re.search(r":s3:::al2023-repos-<token>-de612dc2/\*$", r) for r in resources)
    assert len(resources) == 2
    # ListBucket (a missing object is a 404 for the workers), this account's buckets only.
    listing = statements["ListOnlyBucketsInThisAccount"]
    assert (listing["Action"], listing["Resource"], listing["Condition"]) == (
        "s3:ListBucket", EVERY_BUCKET, THIS_ACCOUNT)
    # The Stateful stack's CDK handlers in the VPC: their bucket calls, nothing else.
    handlers = statements["BucketHandlersInThisAccount"]
    expected = ["s3:GetBucketNotification", "s3:PutBucketNotification"]
    if auto_delete:
        expected += ["s3:GetBucketTagging", "s3:GetBucketPolicy", "s3:PutBucketPolicy",
                     "s3:ListBucketVersions"]
        deletes = statements["AutoDeleteObjectsInThisAccount"]
        assert deletes["Action"] == ["s3:DeleteObject", "s3:DeleteObjectVersion"]
        assert deletes["Resource"] == {"Fn::Join": ["", [
            "arn:", {"Ref": "AWS::Partition"}, ":s3:::*/*"]]}
        assert deletes["Condition"] == THIS_ACCOUNT
    assert (sorted(handlers["Action"]), handlers["Resource"], handlers["Condition"]) == (
        sorted(expected), EVERY_BUCKET, THIS_ACCOUNT)
    # Every in-VPC deploy-time function's answer to CloudFormation (the notifications handler
    # is in every environment): a PUT into AWS's response bucket, nothing else.
    response = statements["CloudFormationResponsesOnly"]
    assert response["Action"] == "s3:PutObject"
    assert "Condition" not in response
    region_without_dashes = {"Fn::Join": ["", {"Fn::Split": ["-", {"Ref": "AWS::Region"}]}]}
    assert response["Resource"] == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":s3:::cloudformation-custom-resource-response-",
        region_without_dashes, "/*"]]}


def test_the_network_stack_names_nothing_of_the_stateful_stack(synthesized, env):
    """Network deploys first (the Stateful handlers' subnets are its); a reference to Stateful
    would make a cycle."""
    text = json.dumps(synthesized.templates[env]["Network"])
    outputs_read = re.findall(r'"Fn::GetStackOutput": \{[^}]*\}', text)
    assert [o for o in outputs_read if "-stateful" in o] == []
    assert f"file-search-{env}-stateful" not in text


def test_no_security_group_admits_the_internet(synthesized, env):
    for sg in in_every_stack(synthesized, env, "AWS::EC2::SecurityGroup"):
        for rule in sg["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") not in ANYWHERE and rule.get("CidrIpv6") not in ANYWHERE
    for rule in in_every_stack(synthesized, env, "AWS::EC2::SecurityGroupIngress"):
        props = rule["Properties"]
        assert props.get("CidrIp") not in ANYWHERE
        assert "SourceSecurityGroupId" in props
        assert (props["FromPort"], props["ToPort"], props["IpProtocol"]) == (443, 443, "tcp")


def test_workers_have_no_ingress_and_only_https_egress(synthesized, env):
    network = synthesized.templates[env]["Network"]
    sg = network["Resources"][security_group_id(network, "Ingest workers")]
    assert "SecurityGroupIngress" not in sg["Properties"]
    assert sg["Properties"]["SecurityGroupEgress"] == [
        {"CidrIp": "0.0.0.0/0", "Description": "HTTPS to AWS APIs", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}]


def test_search_domain_admits_only_the_workers_on_443(synthesized, env):
    network = synthesized.templates[env]["Network"]
    synthesized.template(env, "Network").has_resource_properties("AWS::EC2::SecurityGroupIngress", {
        "GroupId": {"Fn::GetAtt": [security_group_id(network, "OpenSearch"), "GroupId"]},
        "SourceSecurityGroupId": {"Fn::GetAtt": [security_group_id(network, "Ingest workers"), "GroupId"]},
        "FromPort": 443, "ToPort": 443, "IpProtocol": "tcp",
    })


def _with_region(value: object, region: str) -> object:
    """A template value with AWS::Region and AWS::Partition resolved, and Fn::Split/Fn::Join
    evaluated: what CloudFormation would make of it in `region`."""
    if isinstance(value, list):
        return [_with_region(v, region) for v in value]
    if isinstance(value, dict):
        (fn, arg), = value.items()
        if fn == "Ref":
            return {"AWS::Region": region, "AWS::Partition": "aws"}[arg]
        if fn == "Fn::Split":
            return _with_region(arg[1], region).split(arg[0])
        if fn == "Fn::Join":
            return arg[0].join(_with_region(arg[1], region))
    return value


def test_the_responses_of_cloudformation_in_this_region_are_admitted(synthesized):
    """AWS's example ResponseURL for us-east-1 is in cloudformation-custom-resource-response-useast1
    (the region without dashes): that bucket, and no other, is admitted."""
    _, gateway = only_resource(synthesized.templates["prod"]["Network"], "AWS::EC2::VPCEndpoint",
                               lambda r: r["Properties"]["VpcEndpointType"] == "Gateway")
    (response,) = [s for s in gateway["Properties"]["PolicyDocument"]["Statement"]
                   if s.get("Sid") == "CloudFormationResponsesOnly"]
    example = ("https://cloudformation-custom-resource-response-useast1.s3-us-east-1.amazonaws.com/"
               "arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/x/1%7CR%7C2")
    bucket = example.removeprefix("https://").split(".", 1)[0]
    assert _with_region(response["Resource"], "us-east-1") == f"arn:aws:s3:::{bucket}/*"
    assert _with_region(response["Resource"], "ap-northeast-1") == \
        "arn:aws:s3:::cloudformation-custom-resource-response-apnortheast1/*"

