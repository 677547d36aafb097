"""Echo outputs: what a consumer stack resolved from a weak reference, for `ops drift`.

A value from another stack reaches this stack as `Fn::GetStackOutput`, resolved only when this
stack is created or updated. CloudFormation shows the resolved value nowhere, except in an
output of this stack that returns the same reference (resolved in the same operation).
`ops drift` (ops/cross_stack.py) compares such outputs with the producer's output now.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack

# Output ids start with this; ops finds echoes by their value, not their name.
ECHO_PREFIX = "AsDeployed"


def echo(stack: Stack, name: str, value: str, what: str) -> CfnOutput:
    """An output of `stack` holding `value` (a token from another stack) as this stack resolved it."""
    return CfnOutput(stack, f"{ECHO_PREFIX}{name}", value=value,
                     description=f"{what} as this stack resolved it at its last deployment "
                                 "(ops drift compares it with the producer's output)")
