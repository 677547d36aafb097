"""The contract between the app, ops, local and the tools: stack names, output keys, the cloud
assembly reader and what the templates declare. CDK-free: ops and local import it without jsii."""
