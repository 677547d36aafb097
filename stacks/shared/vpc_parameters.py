"""Network ids another stack's function needs as plain strings: SSM parameters + dynamic references.

Control Tower's CT.LAMBDA.PR.3 (cfn-guard rule `lambda_inside_vpc_check`, and the hook that runs
it at deploy time) accepts a function's `VpcConfig.SubnetIds` / `SecurityGroupIds` only as
non-empty strings or as `Ref`/`Fn::GetAtt` to a subnet / security group in the same template.
A cross-stack reference (`Fn::GetStackOutput`, what CDK renders here) is neither. So the Network
stack writes the ids into SSM String parameters, and the consumer's template names them as
CloudFormation dynamic references (`{{resolve:ssm:<name>}}`): a plain string in the template,
which CloudFormation replaces with the parameter's value before it creates or updates the
function, so the hook and Lambda both see the real id.

CloudFormation resolves a dynamic reference only when the consumer stack is deployed and does
not notice a new parameter value by itself (docs/security.md, "Why SSM dynamic references"):
the consumer must deploy after Network (a stack dependency), and a change of subnets needs the
consumer deployed again, as with every weak reference (docs/deploy.md: deploy an environment's
stacks together); `ops drift` reports a parameter changed since (ops/cross_stack.py).
"""

from __future__ import annotations

from aws_cdk import Token
from aws_cdk import aws_ssm as ssm
from constructs import Construct

# Under the environment's prefix (`file-search-<env>`), so the environments cannot collide in
# one account and `ssm:GetParameters*` can be granted per environment.
_PATH = "/{prefix}/network/{key}"
SEARCH_SETTINGS_SECURITY_GROUP = "search-settings-security-group"
# The VPC of the Stateful stack's handlers' security group (a CDK-created VPC's id is a token).
VPC_ID = "vpc-id"


def isolated_subnet_key(index: int) -> str:
    return f"isolated-subnet-{index}"


def parameter_name(name_prefix: str, key: str) -> str:
    return _PATH.format(prefix=name_prefix, key=key)


def dynamic_reference(name_prefix: str, key: str) -> str:
    """The template string CloudFormation replaces with the parameter's current value."""
    return "{{resolve:ssm:" + parameter_name(name_prefix, key) + "}}"


def publish(scope: Construct, *, name_prefix: str, values: dict[str, str]) -> dict[str, ssm.StringParameter]:
    """One SSM String parameter per key, holding `values[key]` (a token of this stack)."""
    return {
        key: ssm.StringParameter(
            scope, f"Parameter-{key}", parameter_name=parameter_name(name_prefix, key),
            string_value=value, tier=ssm.ParameterTier.STANDARD,
            description=f"{key} for deploy-time functions of other stacks (CT.LAMBDA.PR.3)",
        )
        for key, value in values.items()
    }


def subnet_values(subnet_ids: list[str]) -> dict[str, str]:
    """The subnets a consumer cannot name literally: CDK-created ones (their ids are tokens).
    An existing VPC's ids come from config and are literals already."""
    return {isolated_subnet_key(i): subnet_id for i, subnet_id in enumerate(subnet_ids)
            if Token.is_unresolved(subnet_id)}


def consumer_subnet_ids(name_prefix: str, subnet_ids: list[str]) -> list[str]:
    """The ids as another stack's template may name them: literals as they are, CDK-created
    subnets as dynamic references to the parameters `subnet_values` gave them."""
    return [dynamic_reference(name_prefix, isolated_subnet_key(i)) if Token.is_unresolved(subnet_id)
            else subnet_id for i, subnet_id in enumerate(subnet_ids)]


def consumer_vpc_id(name_prefix: str, vpc_id: str) -> str:
    """The VPC id as another stack's template may name it: an existing VPC's literal id as it
    is, a CDK-created VPC's as a dynamic reference to the `VPC_ID` parameter."""
    return dynamic_reference(name_prefix, VPC_ID) if Token.is_unresolved(vpc_id) else vpc_id
