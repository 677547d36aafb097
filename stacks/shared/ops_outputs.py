"""The outputs `python -m ops` finds an environment's resources by (contract: contract/outputs.py;
tests/infra/test_ops_outputs.py checks each key is in the stack the contract names)."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack

from contract.outputs import OutputSpec


def add_ops_outputs(stack: Stack, values: dict[OutputSpec, str]) -> None:
    for spec, value in values.items():
        CfnOutput(stack, spec.key, value=value, description=spec.description)
