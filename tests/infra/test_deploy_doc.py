"""docs/deploy.md names only stacks, commands and runbook sections that exist."""

from __future__ import annotations

import re
import shlex

from ops.cli import parser
from tests.support.cdk_app import REPO

DOC = REPO / "docs" / "deploy.md"


def test_every_stack_is_checked_in_deploy_order(synthesized):
    text = DOC.read_text()
    stacks = list(synthesized.templates["dev"])
    for stack in stacks:
        assert re.search(rf"^\| {stack} \|", text, flags=re.MULTILINE), f"no check for {stack}"
    order = re.search(r"CDK orders the stacks: (.+)\.", text)[1].split(", ")
    assert sorted(order) == sorted(stacks)


def test_commands_parse_and_links_resolve():
    text = DOC.read_text()
    commands = re.findall(r"`(python -m ops [^`]+)`", text)
    assert any("test-alarm" in c for c in commands)
    for command in commands:
        parser().parse_args(shlex.split(command.replace("<env>", "dev"))[3:])
    runbook = (REPO / "docs" / "runbook.md").read_text()
    for anchor in re.findall(r"runbook\.md#([\w-]+)", text):
        assert f'<a id="{anchor}"></a>' in runbook, anchor
    assert "Deploy all stacks of an environment together" in text
