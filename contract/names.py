"""Stack names: `file-search-<env>-<part>`. The app names its stacks with these, and ops finds
them by the same functions, so the two cannot drift apart."""

from __future__ import annotations

NAME_PREFIX = "file-search"

# The part of each stack's name (and of its construct id, capitalized: `dev/Stateful`).
ALERTS = "alerts"
STATEFUL = "stateful"
NETWORK = "network"
SEARCH = "search"
FLEET = "fleet"
MONITORING = "monitoring"


def name_prefix(env: str) -> str:
    """`file-search-<env>`: the start of every stack name, alarm name and dashboard name."""
    return f"{NAME_PREFIX}-{env}"


def stack_name(env: str, stack: str) -> str:
    """The CloudFormation stack name the app gives a stack."""
    return f"{name_prefix(env)}-{stack}"


# Construct id of the security group of the Network stack's own Lambda function (CDK's
# default-SG restriction in the VPC, issue #24); its logical id contains it. CloudFormation
# deletes that function, and waits for its network interfaces, within the Network stack's own
# deletion, so `ops wait-lambda-enis` does not wait for them beforehand (they are in use then).
NETWORK_FUNCTION_GROUP_ID = "DefaultSgFunctionSecurityGroup"

# Construct id of the security group of the Stateful stack's two CDK handlers (bucket
# notifications, auto-delete objects), in the VPC since #24. CloudFormation deletes those
# functions, and waits for their network interfaces, within the Stateful stack's deletion.
STATEFUL_FUNCTION_GROUP_ID = "CdkHandlersSecurityGroup"
