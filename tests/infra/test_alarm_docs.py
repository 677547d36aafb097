"""The alarm tables in docs/ are generated from stacks/monitoring/alarm_table.py
(`python -m tools.alarm_docs`): the committed ones must be what the generator writes now."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from environments import ENVIRONMENTS
from stacks.monitoring.alarm_table import environment_alarms
from tests.support.cdk_app import REPO
from tools import alarm_docs


def test_committed_alarm_tables_are_current():
    assert alarm_docs.stale() == [], "run: python -m tools.alarm_docs (or make alarm-docs)"


@pytest.fixture
def docs_copy(tmp_path):
    for block in alarm_docs.BLOCKS:
        (tmp_path / block.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / block.path, tmp_path / block.path)
    return tmp_path


def test_a_changed_threshold_makes_the_table_stale_and_the_generator_fixes_it(docs_copy):
    """What a forgotten regeneration looks like: prod's DLQ warning level changed in config."""
    prod = ENVIRONMENTS["prod"]
    changed = {**ENVIRONMENTS, "prod": dataclasses.replace(
        prod, alarms=dataclasses.replace(prod.alarms, dlq_warning_messages=7))}
    assert alarm_docs.stale(docs_copy, changed) == ["docs/alarms.md", "docs/operations.md"]
    assert alarm_docs.stale(docs_copy, changed, write=True) == ["docs/alarms.md",
                                                                "docs/operations.md"]
    assert alarm_docs.stale(docs_copy, changed) == []
    text = (docs_copy / "docs" / "alarms.md").read_text()
    assert "| ≥ 1 | ≥ 1 | ≥ 7 | [dlq-not-empty]" in text
    # Only the generated block changed.
    original = (REPO / "docs" / "alarms.md").read_text()
    begin, end = alarm_docs.BLOCKS[0].markers()
    assert text.split(begin)[0] == original.split(begin)[0]
    assert text.split(end)[1] == original.split(end)[1]


def test_a_hand_edit_inside_the_markers_is_stale(docs_copy):
    path = docs_copy / "docs" / "operations.md"
    path.write_text(path.read_text().replace("| critical |", "| warning |", 1))
    assert alarm_docs.stale(docs_copy) == ["docs/operations.md"]


def test_missing_markers_name_the_file(docs_copy):
    path = docs_copy / "docs" / "alarms.md"
    path.write_text(path.read_text().replace("<!-- alarm-table:end -->", ""))
    with pytest.raises(ValueError, match="docs/alarms.md: expected the markers"):
        alarm_docs.stale(docs_copy)


def test_every_alarm_of_every_environment_is_in_the_table_with_its_runbook_link():
    text = (REPO / "docs" / "alarms.md").read_text()
    for config in ENVIRONMENTS.values():
        for row in environment_alarms(config):
            assert f"| `file-search-<env>-{row.short}` | {row.topic} |" in text, row.short
            assert f"[{row.short}](runbook.md#alarm-{row.short})" in text, row.short


def test_an_alarm_only_some_environments_have_is_off_in_the_others():
    """no-incoming-messages is prod's only (environments.py)."""
    line = next(x for x in alarm_docs.alarm_table(ENVIRONMENTS).splitlines()
                if "-no-incoming-messages`" in x)
    cells = dict(zip(ENVIRONMENTS, [c.strip() for c in line.split("|")][4:], strict=False))
    assert cells == {"dev": "off", "staging": "off",
                     "prod": f"{ENVIRONMENTS['prod'].alarms.no_incoming_messages_hours} h"}
