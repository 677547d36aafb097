"""Writes the alarm tables of the docs from the alarm table (stacks/monitoring/alarm_table.py).

    python -m tools.alarm_docs           # rewrite the tables (also `make alarm-docs`)
    python -m tools.alarm_docs --check   # exit 1 and name the stale files, change nothing

Each table sits between two marker comments, `<!-- <name>:begin ... -->` and
`<!-- <name>:end -->`; the text around them is written by hand. The rows are built from every
environment of environments.py, so per-environment values come from the real config.
tests/infra/test_alarm_docs.py fails when a committed table differs from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from config import EnvironmentConfig
from environments import ENVIRONMENTS
from stacks.monitoring.alarm_table import AlarmSpec, environment_alarms
from tools.doc_blocks import Block, stale_files
from tools.doc_blocks import main as doc_main

REPO = Path(__file__).resolve().parents[1]
GENERATOR = "python -m tools.alarm_docs"
SUMMARY_ENV = "prod"  # the environment with every alarm


def alarms_by_environment(environments: dict[str, EnvironmentConfig]
                          ) -> dict[str, dict[str, AlarmSpec]]:
    return {env: {row.short: row for row in environment_alarms(config)}
            for env, config in environments.items()}


def all_shorts(by_env: dict[str, dict[str, AlarmSpec]]) -> list[str]:
    """Every alarm of any environment, in creation order (one missing here is placed after the
    alarm it follows where it exists)."""
    order: list[str] = []
    for rows in by_env.values():
        previous = None
        for short in rows:
            if short not in order:
                order.insert(order.index(previous) + 1 if previous else 0, short)
            previous = short
    return order


def _same_everywhere(short: str, by_env: dict[str, dict[str, AlarmSpec]], field: str) -> str:
    values = {getattr(rows[short], field) for rows in by_env.values() if short in rows}
    if len(values) != 1:
        raise ValueError(f"alarm {short}: {field} differs between environments: {sorted(values)}; "
                         "the docs table shows one per alarm")
    return values.pop()


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def alarm_table(environments: dict[str, EnvironmentConfig]) -> str:
    """docs/alarms.md: every alarm, its condition, and its values in each environment."""
    by_env = alarms_by_environment(environments)
    envs = list(by_env)
    lines = [f"| Alarm | Topic | Fires when | {' | '.join(envs)} | Runbook |",
             "|---|---|---|" + "---|" * len(envs) + "---|"]
    for short in all_shorts(by_env):
        levels = [cell(by_env[env][short].level) if short in by_env[env] else "off"
                  for env in envs]
        lines.append(
            f"| `file-search-<env>-{short}` | {_same_everywhere(short, by_env, 'topic')} | "
            f"{cell(_same_everywhere(short, by_env, 'fires_when'))} | {' | '.join(levels)} | "
            f"[{short}](runbook.md#alarm-{short}) |")
    return "\n".join(lines)


def alarm_summary(environments: dict[str, EnvironmentConfig]) -> str:
    """docs/operations.md: what each alarm means, as its description says it in prod."""
    rows = environment_alarms(environments[SUMMARY_ENV])
    lines = [f"| Alarm | Topic | What it means ({SUMMARY_ENV}) |", "| --- | --- | --- |"]
    lines += [f"| [`{row.short}`](runbook.md#alarm-{row.short}) | {row.topic} | {cell(row.what)} |"
              for row in rows]
    return "\n".join(lines)


def runbook_summary(environments: dict[str, EnvironmentConfig]) -> str:
    """docs/runbook.md: each alarm, the `ops` command its description names, what to read in
    its output and what to do next (the sections below the table say more)."""
    by_env = alarms_by_environment(environments)
    lines = ["| Alarm (`file-search-<env>-…`) | Run first | Then |", "| --- | --- | --- |"]
    for short in all_shorts(by_env):
        command = _same_everywhere(short, by_env, "command")
        read = _same_everywhere(short, by_env, "read")
        lines.append(f"| [`{short}`](#alarm-{short}) | `ops {command}`"
                     f"{f' ({cell(read)})' if read else ''} | "
                     f"{cell(_same_everywhere(short, by_env, 'then'))} |")
    return "\n".join(lines)


BLOCKS = tuple(Block(path, name, render, GENERATOR, "stacks/monitoring/alarm_table.py")
               for path, name, render in (
                   ("docs/alarms.md", "alarm-table", alarm_table),
                   ("docs/operations.md", "alarm-summary", alarm_summary),
                   ("docs/runbook.md", "alarm-first-commands", runbook_summary)))


def stale(repo: Path = REPO, environments: dict[str, EnvironmentConfig] = ENVIRONMENTS,
          *, write: bool = False) -> list[str]:
    """The files whose generated tables differ from the alarm table (rewritten if `write`)."""
    return stale_files(repo, BLOCKS, environments, write=write)


def main(argv: list[str] | None = None) -> int:
    return doc_main(argv, GENERATOR, __doc__.splitlines()[0], stale)


if __name__ == "__main__":
    sys.exit(main())
