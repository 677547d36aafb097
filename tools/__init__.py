"""CI tooling: offline template diff per stack, stateful-change gate, PR comment rendering.

Run from the repository root as modules, e.g. `python -m tools.template_diff --base HEAD~1`.
Nothing here imports the CDK app: the tools read synthesized cloud assemblies.
"""
