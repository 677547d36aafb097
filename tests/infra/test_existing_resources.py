"""An environment that uses an existing VPC and an existing OpenSearch domain (no lookups)."""

from __future__ import annotations

import dataclasses

import pytest

from config import ExistingVpc, NetworkConfig, SearchConfig
from environments import ENVIRONMENTS
from stacks.ingestion_stage import compose_app
from tests.support.cdk_app import new_app
from tests.support.templates import only_resource, rendered, resources_of_type

DOMAIN_ARN = "arn:aws:es:eu-west-1:123456789012:domain/shared-search"
ENDPOINT = "https://vpc-shared-search-abc123.eu-west-1.es.amazonaws.com"
SUBNETS = ("subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb")


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, dict]:
    config = dataclasses.replace(
        ENVIRONMENTS["staging"], name="shared",
        network=NetworkConfig(existing_vpc=ExistingVpc(
            vpc_id="vpc-0123456789abcdef0", availability_zones=("eu-west-1a", "eu-west-1b"),
            isolated_subnet_ids=SUBNETS, isolated_subnet_route_table_ids=("rtb-0a", "rtb-0b"),
            vpc_cidr_block="10.9.0.0/16")),
        search=SearchConfig(existing_domain_endpoint=ENDPOINT, existing_domain_arn=DOMAIN_ARN),
    )
    app = new_app(tmp_path_factory.mktemp("shared"))
    stage = compose_app(app, [config])["shared"]
    app.synth()  # cdk-nag and the guard pass for this shape too
    assembly = stage.synth()
    return {s.node.id: assembly.get_stack_by_name(s.stack_name).template
            for s in (stage.alerts, stage.stateful, stage.network, stage.search, stage.fleet)}


def test_no_vpc_or_domain_is_created(templates):
    for template in templates.values():
        assert resources_of_type(template, "AWS::EC2::VPC") == {}
        assert resources_of_type(template, "AWS::OpenSearchService::Domain") == {}
    # The subnet ids are literals from config and no settings function needs a security group.
    assert resources_of_type(templates["Network"], "AWS::SSM::Parameter") == {}


def test_endpoints_and_workers_use_the_given_subnets(templates):
    endpoints = resources_of_type(templates["Network"], "AWS::EC2::VPCEndpoint")
    assert endpoints and all(e["Properties"]["VpcId"] == "vpc-0123456789abcdef0" for e in endpoints.values())
    _, group = only_resource(templates["Fleet"], "AWS::AutoScaling::AutoScalingGroup")
    assert tuple(group["Properties"]["VPCZoneIdentifier"]) == SUBNETS


def test_workers_index_into_the_given_domain(templates):
    _, launch_template = only_resource(templates["Fleet"], "AWS::EC2::LaunchTemplate")
    text = rendered(launch_template["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"])
    assert f"WORKER_OPENSEARCH_ENDPOINT={ENDPOINT}\n" in text
    _, policy = only_resource(templates["Search"], "AWS::IAM::ManagedPolicy")
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == [f"{DOMAIN_ARN}/file-index-write",
                                     f"{DOMAIN_ARN}/file-index-write/*"]


def test_an_existing_vpc_gets_no_default_sg_function_nor_its_endpoint(templates):
    """CDK restricts the default security group only of a VPC it creates: no function and no EC2
    endpoint. The response path for deploy-time functions stays: the Stateful stack's bucket
    handlers run in this VPC too."""
    network = templates["Network"]
    assert resources_of_type(network, "AWS::Lambda::Function") == {}
    services = [rendered(e["Properties"]["ServiceName"], token="")
                for e in resources_of_type(network, "AWS::EC2::VPCEndpoint").values()]
    assert not any(s.endswith(".ec2") for s in services)
    _, gateway = only_resource(network, "AWS::EC2::VPCEndpoint",
                               lambda r: r["Properties"]["VpcEndpointType"] == "Gateway")
    assert "CloudFormationResponsesOnly" in [
        s.get("Sid") for s in gateway["Properties"]["PolicyDocument"]["Statement"]]


def test_the_stateful_handlers_name_the_existing_vpc_literally(templates):
    """Configured ids are literals already: no SSM parameter, no dynamic reference."""
    stateful = templates["Stateful"]
    _, group = only_resource(stateful, "AWS::EC2::SecurityGroup")
    assert group["Properties"]["VpcId"] == "vpc-0123456789abcdef0"
    (function,) = resources_of_type(stateful, "AWS::Lambda::Function").values()
    assert tuple(function["Properties"]["VpcConfig"]["SubnetIds"]) == SUBNETS
