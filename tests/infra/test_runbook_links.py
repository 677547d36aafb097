"""Every alarm and out-of-band change rule of every environment links a section of
docs/runbook.md that exists, and names an `ops` command the CLI accepts (read from the
synthesized templates, so what an operator is paged with is what is checked)."""

from __future__ import annotations

import re
import shlex

import pytest

from ops.cli import UsageError, parser
from stacks.monitoring.alarm_table import CHANGE_RULES, INCIDENT_RULES
from tests.support.cdk_app import REPO
from tests.support.templates import resources_of_type

RUNBOOK = REPO / "docs" / "runbook.md"
LINK = re.compile(r"docs/runbook\.md#([A-Za-z0-9_-]+)")
COMMAND = re.compile(r"`(python -m ops [^`]+)`")


def anchors(text: str) -> set[str]:
    return set(re.findall(r'<a id="([^"]+)"></a>', text))


def runbook_anchors() -> set[str]:
    return anchors(RUNBOOK.read_text())


def heading_slugs(text: str) -> set[str]:
    """The anchors GitHub derives from headings (lowercase, punctuation dropped, spaces to -)."""
    return {re.sub(r"[^a-z0-9 _-]", "", title.strip().lower()).replace(" ", "-")
            for title in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


def section(anchor: str) -> str:
    """The runbook's text from `anchor` to the next anchor."""
    text = RUNBOOK.read_text()
    start = text.index(f'<a id="{anchor}"></a>')
    end = text.find("<a id=", start + 1)
    return text[start:end if end > 0 else None]


def missing_anchors(text: str, known: set[str]) -> list[str]:
    """The runbook anchors `text` links that the runbook lacks; fails if it links none."""
    links = LINK.findall(text)
    assert links, f"no docs/runbook.md link in: {text}"
    return [link for link in links if link not in known]


def accepted_commands(text: str, env: str) -> list[str]:
    """The `python -m ops ...` commands in `text`, each parsed by the real CLI for `env`."""
    commands = COMMAND.findall(text)
    for command in commands:
        argv = shlex.split(command)[3:]
        args = parser().parse_args(argv)  # raises UsageError on an unknown command or option
        assert args.env == env, command
    return commands


def every(synthesized, env: str, kind: str) -> dict[str, dict]:
    return {lid: r["Properties"] for template in synthesized.templates[env].values()
            for lid, r in resources_of_type(template, kind).items()}


def rule_texts(props: dict) -> list[str]:
    """A rule's description and each target's message (input, or input transformer template)."""
    texts = [props.get("Description", "")]
    for target in props.get("Targets", []):
        texts.append(target.get("Input") or target.get("InputTransformer", {}).get("InputTemplate", ""))
    return texts


def test_the_check_catches_a_missing_anchor():
    """The test below would not pass a description whose section was removed."""
    known = runbook_anchors() - {"alarm-dlq-filling"}
    assert missing_anchors("... Runbook: docs/runbook.md#alarm-dlq-filling", known) == [
        "alarm-dlq-filling"]
    assert missing_anchors("... Runbook: docs/runbook.md#alarm-dlq-not-empty", known) == []
    with pytest.raises(UsageError, match="invalid choice: 'diagnoze'"):
        accepted_commands("First: `python -m ops diagnoze --env dev`;", "dev")


def test_every_alarm_links_an_existing_runbook_section_and_names_an_ops_command(synthesized, env):
    known = runbook_anchors()
    found = every(synthesized, env, "AWS::CloudWatch::Alarm")
    assert len(found) >= 20
    for props in found.values():
        name, description = props["AlarmName"], props["AlarmDescription"]
        assert missing_anchors(description, known) == [], name
        # Its own section, by the convention `alarm-<short>`.
        (anchor,) = LINK.findall(description)
        assert anchor == f"alarm-{name.removeprefix(f'file-search-{env}-')}", name
        # The section starts from the command the page names (`ops diagnose`, `ops drift`).
        commands = accepted_commands(description, env)
        assert commands, f"{name} names no ops command"
        for command in commands:
            assert f"ops {command.split()[3]} --env <env>" in section(anchor), name


def test_every_change_rule_links_an_existing_runbook_section_and_names_its_ops_command(synthesized, env):
    known = runbook_anchors()
    rules = {props["Name"].removeprefix(f"file-search-{env}-"): props
             for props in every(synthesized, env, "AWS::Events::Rule").values()
             if any("docs/runbook.md" in text for text in rule_texts(props))}
    assert sorted(rules) == sorted(CHANGE_RULES)
    for short, props in rules.items():
        for text in rule_texts(props):
            assert missing_anchors(text, known) == [], short
        (message,) = rule_texts(props)[1:]
        # The incident's rules start from `ops drift`; the others (#22) have a section each.
        command = "drift" if short in INCIDENT_RULES else "diagnose"
        assert accepted_commands(message, env) == [f"python -m ops {command} --env {env}"], short
        if short not in INCIDENT_RULES:
            (anchor,) = set(LINK.findall(message))
            assert anchor == f"alarm-{short}"
            assert "ops diagnose --env <env>" in section(anchor), short
    assert "ops drift --env <env>" in section("alarm-out-of-band-change")


def test_runbook_and_alarm_docs_link_only_existing_runbook_sections():
    """Descriptions link explicit anchors only (above); the docs may also link a heading."""
    known = runbook_anchors() | heading_slugs(RUNBOOK.read_text())
    inside = re.findall(r"\]\(#([^)]+)\)", RUNBOOK.read_text())
    from_alarms = re.findall(r"\(runbook\.md#([^)]+)\)", (REPO / "docs" / "alarms.md").read_text())
    assert inside and from_alarms
    assert sorted(set(inside) - known) == []
    assert sorted(set(from_alarms) - known) == []
