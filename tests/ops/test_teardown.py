"""`ops wait-lambda-enis` (ops/teardown.py) against moto's CloudFormation and EC2: the Network
stack's security groups are found through its stack, and a Lambda ENI in one of them holds the
wait until it is gone. Time is injected: no test sleeps."""

from __future__ import annotations

import io
import json

import boto3
import pytest

from contract.names import NETWORK_FUNCTION_GROUP_ID, STATEFUL_FUNCTION_GROUP_ID
from harness.worker_process import REGION
from ops.aws import Aws
from ops.cli import main
from ops.console import Console
from ops.teardown import wait_for_lambda_enis

NETWORK = {
    "Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.40.0.0/16"}},
        "Subnet": {"Type": "AWS::EC2::Subnet",
                   "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.40.0.0/24"}},
        "SettingsGroup": {"Type": "AWS::EC2::SecurityGroup",
                          "Properties": {"GroupDescription": "search settings function",
                                         "VpcId": {"Ref": "Vpc"}}},
        # As the app names it (tests/infra/test_default_sg_function.py pins the logical id).
        f"WorkerNetwork{NETWORK_FUNCTION_GROUP_ID}621166FD": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": "default-SG restriction function", "VpcId": {"Ref": "Vpc"}}},
    },
}


@pytest.fixture
def network(moto):
    """file-search-dev-network on moto, plus a group of another stack in the same VPC."""
    cfn = boto3.client("cloudformation", endpoint_url=moto, region_name=REGION)
    cfn.create_stack(StackName="file-search-dev-network", TemplateBody=json.dumps(NETWORK))
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cfn.describe_stack_resources(StackName="file-search-dev-network")["StackResources"]}
    ec2 = boto3.client("ec2", endpoint_url=moto, region_name=REGION)
    other = ec2.create_security_group(GroupName="other", Description="not the Network stack's",
                                      VpcId=resources["Vpc"])["GroupId"]
    return ec2, resources, other


LAMBDA_DESCRIPTION = "AWS Lambda VPC ENI-file-search-dev-fleet-Settings-1a2b"


def lambda_eni(ec2, subnet: str, group: str, description: str = LAMBDA_DESCRIPTION) -> str:
    return ec2.create_network_interface(SubnetId=subnet, Groups=[group],
                                        Description=description)["NetworkInterface"]["NetworkInterfaceId"]


def wait(moto, *, timeout_s: float, sleep=None) -> tuple[int, str, list[float]]:
    out, slept = io.StringIO(), []

    def record(seconds: float) -> None:
        slept.append(seconds)
        if sleep:
            sleep()
    code = wait_for_lambda_enis(Aws(region=REGION, endpoint_url=moto), "dev",
                                Console(env="dev", assume_yes=True, stdin=io.StringIO(), out=out),
                                timeout_s=timeout_s, interval_s=30, sleep=record,
                                clock=lambda: sum(slept))  # time passes only in sleep
    return code, out.getvalue(), slept


def test_waits_until_lambda_releases_its_interface(moto, network):
    ec2, resources, _ = network
    eni = lambda_eni(ec2, resources["Subnet"], resources["SettingsGroup"])
    checks = []

    def lambda_releases_it_on_the_second_wait():
        checks.append(1)
        if len(checks) == 2:
            ec2.delete_network_interface(NetworkInterfaceId=eni)

    code, out, slept = wait(moto, timeout_s=600, sleep=lambda_releases_it_on_the_second_wait)
    assert code == 0
    assert slept == [30, 30]
    assert out.count(f"waiting for Lambda to release 1 network interface(s): {eni}") == 2
    assert out.rstrip().endswith("file-search-dev-network: it can be deleted")


def test_gives_up_at_the_timeout_naming_the_interfaces(moto, network):
    ec2, resources, _ = network
    eni = lambda_eni(ec2, resources["Subnet"], resources["SettingsGroup"])
    code, out, slept = wait(moto, timeout_s=60)
    assert code == 1
    assert slept == [30, 30]
    assert f"still held after 1 min: {eni}" in out
    assert "wait and run this again before deleting file-search-dev-network" in out


def test_other_interfaces_do_not_hold_the_wait(moto, network):
    """An instance's ENI in the stack's group, or a Lambda ENI in another stack's group."""
    ec2, resources, other = network
    lambda_eni(ec2, resources["Subnet"], resources["SettingsGroup"], description="worker instance")
    lambda_eni(ec2, resources["Subnet"], other)
    code, out, slept = wait(moto, timeout_s=600)
    assert (code, slept) == (0, [])


def test_the_network_stacks_own_function_does_not_hold_the_wait(moto, network):
    """CDK's default-SG function is alive until the Network stack's deletion, which waits for its
    interfaces itself: waiting for them here would time out."""
    ec2, resources, _ = network
    lambda_eni(ec2, resources["Subnet"], resources[f"WorkerNetwork{NETWORK_FUNCTION_GROUP_ID}621166FD"],
               description="AWS Lambda VPC ENI-file-search-dev-network-CustomVpcRestrictDefaultSG-1a2b")
    code, out, slept = wait(moto, timeout_s=600)
    assert (code, slept) == (0, [])


STATEFUL_GROUP = f"CdkHandlersInVpc{STATEFUL_FUNCTION_GROUP_ID}A660164F"  # as the app names it
STATEFUL_HANDLER_DESCRIPTION = "AWS Lambda VPC ENI-file-search-dev-stateful-BucketNotificationsHandl-1a2b"


def stateful_stack(moto, vpc: str, *, with_function: bool) -> str:
    """file-search-dev-stateful with the handlers' group in Network's VPC, and their function
    (alive) or not (deleted by a Stateful deletion that then gave up on the group)."""
    resources: dict = {STATEFUL_GROUP: {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "bucket handlers", "VpcId": vpc}}}
    if with_function:
        resources["HandlerRole"] = {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}}}
        resources["Handler"] = {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.13", "Handler": "index.handler",
            "Code": {"ZipFile": "def handler(event, context):\n    return None\n"},
            "Role": {"Fn::GetAtt": ["HandlerRole", "Arn"]}}}
    cfn = boto3.client("cloudformation", endpoint_url=moto, region_name=REGION)
    cfn.create_stack(StackName="file-search-dev-stateful", TemplateBody=json.dumps({"Resources": resources}))
    (group,) = [r["PhysicalResourceId"] for r in cfn.describe_stack_resources(
        StackName="file-search-dev-stateful")["StackResources"] if r["LogicalResourceId"] == STATEFUL_GROUP]
    return group


def test_the_stateful_handlers_do_not_hold_the_wait_while_they_live(moto, network):
    """Alive when `make destroy` waits (Stateful is deleted after): their interfaces are in use,
    and the Stateful stack's deletion waits for them itself."""
    ec2, resources, _ = network
    group = stateful_stack(moto, resources["Vpc"], with_function=True)
    lambda_eni(ec2, resources["Subnet"], group, description=STATEFUL_HANDLER_DESCRIPTION)
    code, out, slept = wait(moto, timeout_s=600)
    assert (code, slept) == (0, [])


def test_a_left_over_stateful_handlers_group_holds_the_wait(moto, network):
    """A Stateful deletion that gave up on the group (functions deleted, interfaces not yet
    released, in Network's subnets): the next `make destroy` waits for them."""
    ec2, resources, _ = network
    group = stateful_stack(moto, resources["Vpc"], with_function=False)
    eni = lambda_eni(ec2, resources["Subnet"], group, description=STATEFUL_HANDLER_DESCRIPTION)
    code, out, slept = wait(moto, timeout_s=60)
    assert code == 1 and slept == [30, 30]
    assert f"still held after 1 min: {eni}" in out
    ec2.delete_network_interface(NetworkInterfaceId=eni)
    assert wait(moto, timeout_s=60)[0] == 0


def test_nothing_to_wait_for_without_the_network_stack(moto):
    code, out, _ = wait(moto, timeout_s=600)
    assert code == 0
    assert "file-search-dev-network is not deployed: nothing to wait for" in out


def test_the_cli_runs_it_with_a_timeout_in_minutes(moto, network):
    ec2, resources, _ = network
    lambda_eni(ec2, resources["Subnet"], resources["SettingsGroup"])
    out = io.StringIO()
    code = main(["wait-lambda-enis", "--env", "dev", "--endpoint-url", moto, "--region", REGION,
                 "--timeout", "0"], stdout=out)
    assert code == 1, out.getvalue()
    assert "still held after 0 min" in out.getvalue()
    assert main(["wait-lambda-enis", "--env", "dev", "--timeout", "121"], stdout=io.StringIO()) == 2
