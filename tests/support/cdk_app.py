"""Synthesize the real app once per test session, exactly as `cdk synth` would.

The App gets the same context as the CLI gives it (cdk.json's feature flags), and the
synthesis runs the same validation plugins (cdk-nag, Control Tower, the notification guard): if any
fails, every test that uses the templates errors with the report.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from contract.synth import JSII_QUIET
from environments import ENVIRONMENTS
from stacks.ingestion_stage import compose_app

REPO = Path(__file__).resolve().parents[2]
ENV_NAMES = list(ENVIRONMENTS)

# jsii starts in this process: silence its banners as make would, also under a bare pytest.
for _name, _value in JSII_QUIET.items():
    os.environ.setdefault(_name, _value)


def cdk_json_context() -> dict:
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    # The CLI asks for construct paths in template metadata; so do the tests.
    return {**context, "aws:cdk:enable-path-metadata": True}


def new_app(outdir: Path) -> App:
    """An App configured like the CDK CLI's (cdk.json feature flags), writing into `outdir`."""
    return App(outdir=str(outdir), context=cdk_json_context())


@dataclass(frozen=True)
class StackInfo:
    """What tests read from a stack object rather than its template, kept as plain data so that
    every pytest-xdist process shares one synthesis (tests/support/synth_cache.py)."""

    stack_name: str
    termination_protection: bool
    description: str


@dataclass
class Synthesized:
    outdir: Path
    # templates[env][stack id] -> the synthesized template as a dict
    templates: dict[str, dict[str, dict]]
    # stacks[env][stack id] -> its name, termination protection and description
    stacks: dict[str, dict[str, StackInfo]]

    def stack_ids(self, env: str) -> dict[str, str]:
        """Stack name -> stack id (the key of `templates[env]`), e.g. for Fn::GetStackOutput."""
        return {info.stack_name: stack_id for stack_id, info in self.stacks[env].items()}

    def template(self, env: str, stack: str) -> Template:
        return Template.from_json(self.templates[env][stack])


def synthesize_all(outdir: Path) -> Synthesized:
    """Every environment of the real app, synthesized once, with every synthesis check."""
    app = new_app(outdir)
    stages = compose_app(app, list(ENVIRONMENTS.values()))
    app.synth()
    templates: dict[str, dict[str, dict]] = {}
    stacks: dict[str, dict[str, StackInfo]] = {}
    for env, stage in stages.items():
        assembly = stage.synth()
        children = [stack for stack in stage.node.children if isinstance(stack, Stack)]
        templates[env] = {stack.node.id: assembly.get_stack_by_name(stack.stack_name).template
                          for stack in children}
        stacks[env] = {stack.node.id: StackInfo(stack.stack_name, stack.termination_protection,
                                                stack.template_options.description or "")
                       for stack in children}
    return Synthesized(outdir=outdir, templates=templates, stacks=stacks)
