"""`ops wait-lambda-enis`: before the Network stack is deleted, wait until no Lambda network
interface holds its security groups.

A Lambda function in a VPC (the Fleet stack's search-security function, in environments with
fine-grained access control) uses Hyperplane ENIs that Lambda releases up to about 20-40 minutes
after the function is deleted (aws-cloudformation/cloudformation-coverage-roadmap#392). While
one remains, deleting the Network stack fails on its security group ("resource sg-... has a
dependent object", DependencyViolation) or subnet ("The subnet 'subnet-...' has dependencies and
cannot be deleted"), and the stack ends DELETE_FAILED. Lambda owns these ENIs: they cannot be
deleted by hand while it holds them, only waited for. `make destroy` runs this between deleting
Fleet (and Monitoring) and deleting the rest (docs/deploy.md#roll-back).

The Network stack's own function (CDK's default-SG restriction, in the VPC since #24) is still
alive then, its interfaces in use: its group is left out. It is deleted with the Network stack,
before its group and subnets (they are its references), and its interfaces delay that deletion
instead.

The Stateful stack's two CDK handlers (bucket notifications; dev: auto-delete) run in Network's
subnets with a group of the Stateful stack (#24), and Stateful is deleted before Network: they
are alive when this runs, so their group is left out too. CloudFormation deletes them, then
retries their group's deletion while Lambda still holds its interfaces; Stateful's deletion ends
only when the group is gone, so Network's subnets are free by then. If CloudFormation gives up
first (Stateful DELETE_FAILED on that group), the functions are gone and their group is waited
for here, on the next `make destroy`, before Stateful's deletion is retried and Network deleted.

Reads: cloudformation:ListStackResources on the Network and Stateful stacks,
ec2:DescribeNetworkInterfaces.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from botocore.exceptions import ClientError

from contract.names import (
    NETWORK,
    NETWORK_FUNCTION_GROUP_ID,
    STATEFUL,
    STATEFUL_FUNCTION_GROUP_ID,
    stack_name,
)
from ops.aws import Aws, OpsError
from ops.console import Console

# What Lambda writes into the description of the ENIs it creates for a function in a VPC.
LAMBDA_ENI_DESCRIPTION = "AWS Lambda VPC ENI*"


def _live_resources(aws: Aws, name: str) -> list[dict] | None:
    """The stack's resources not deleted yet (with a physical id); None when it does not exist."""
    try:
        pages = aws.client("cloudformation").get_paginator("list_stack_resources").paginate(
            StackName=name)
        return [r for page in pages for r in page["StackResourceSummaries"]
                if r.get("PhysicalResourceId") and r.get("ResourceStatus") != "DELETE_COMPLETE"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise OpsError(f"cannot list the resources of {name}: {error}") from None


def network_security_groups(aws: Aws, env: str) -> list[str] | None:
    """The security groups the Network stack owns, but not its own function's (deleted with the
    stack, which waits for that function's interfaces itself); None when it is not deployed."""
    resources = _live_resources(aws, stack_name(env, NETWORK))
    if resources is None:
        return None
    return [r["PhysicalResourceId"] for r in resources
            if r["ResourceType"] == "AWS::EC2::SecurityGroup"
            and NETWORK_FUNCTION_GROUP_ID not in r["LogicalResourceId"]]


def stateful_handler_groups(aws: Aws, env: str) -> list[str]:
    """The Stateful handlers' group, once its functions are deleted but it is not (a deletion of
    the Stateful stack that gave up on it); empty while the functions live (in use then, and the
    stack's own deletion waits for them) or without the stack."""
    resources = _live_resources(aws, stack_name(env, STATEFUL)) or []
    if any(r["ResourceType"] == "AWS::Lambda::Function" for r in resources):
        return []
    return [r["PhysicalResourceId"] for r in resources
            if r["ResourceType"] == "AWS::EC2::SecurityGroup"
            and STATEFUL_FUNCTION_GROUP_ID in r["LogicalResourceId"]]


def lambda_enis(aws: Aws, security_groups: list[str]) -> list[dict]:
    """Lambda's network interfaces in any of `security_groups`."""
    if not security_groups:
        return []
    pages = aws.client("ec2").get_paginator("describe_network_interfaces").paginate(Filters=[
        {"Name": "group-id", "Values": security_groups},
        {"Name": "description", "Values": [LAMBDA_ENI_DESCRIPTION]},
    ])
    return [eni for page in pages for eni in page["NetworkInterfaces"]]


def wait_for_lambda_enis(aws: Aws, env: str, console: Console, *, timeout_s: float,
                         interval_s: float, sleep: Callable[[float], None] = time.sleep,
                         clock: Callable[[], float] = time.monotonic) -> int:
    """0 once no Lambda ENI holds the Network stack's groups (or a left-over group of the
    Stateful handlers, in Network's subnets); 1 if some still do at the timeout."""
    groups = network_security_groups(aws, env)
    if groups is None:
        console.say(f"{stack_name(env, NETWORK)} is not deployed: nothing to wait for")
        return 0
    groups += stateful_handler_groups(aws, env)
    deadline = clock() + timeout_s
    while True:
        enis = lambda_enis(aws, groups)
        if not enis:
            console.say(f"no Lambda network interface in the security groups of "
                        f"{stack_name(env, NETWORK)}: it can be deleted")
            return 0
        listed = ", ".join(f"{e['NetworkInterfaceId']} ({e.get('Status', '?')})" for e in enis)
        left = deadline - clock()
        if left <= 0:
            console.say(f"still held after {timeout_s / 60:g} min: {listed}. Lambda releases "
                        "them itself (up to about 40 min after the function is deleted); wait "
                        f"and run this again before deleting {stack_name(env, NETWORK)}")
            return 1
        console.say(f"waiting for Lambda to release {len(enis)} network interface(s): {listed}")
        sleep(min(interval_s, left))
