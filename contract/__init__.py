"""The contract between the app, ops, local and the tools: stack names, output keys, the cloud
assembly reader and what the templates declare. CDK-free: ops and local import it without jsii."""


class ContractError(Exception):
    """A template, assembly or synthesis does not hold what the contract says; the message names
    the file or command."""
