"""The boot script installs cfn-signal on its own before anything that can fail reports through it.

If `aws-cfn-bootstrap` came in the same `dnf install` as the other packages, a failure of that
install would run the ERR trap, which calls a cfn-signal that is not there; no failure signal
would reach CloudFormation and the rollout would wait out the whole startup timeout (#18).
"""

from __future__ import annotations

import re

from stacks.fleet.worker_boot import BootSettings, boot_commands

SETTINGS = BootSettings(
    asset_s3_url="s3://assets/worker.zip", region="eu-west-1", stack_name="file-search-dev-fleet",
    signal_resource="FleetGroup", log_group_name="workers", worker_environment={"A": "1"},
    stop_timeout_seconds=285,
)


def index_of(commands: list[str], pattern: str) -> int:
    found = [i for i, c in enumerate(commands) if re.search(pattern, c)]
    assert len(found) == 1, f"expected one command matching {pattern!r}, found {found}"
    return found[0]


def test_cfn_bootstrap_is_installed_alone_before_the_trap_and_other_packages():
    commands = boot_commands(SETTINGS)
    bootstrap = index_of(commands, r"dnf install -y aws-cfn-bootstrap\b")
    check = index_of(commands, r"^test -x /opt/aws/bin/cfn-signal$")
    trap = index_of(commands, r"^trap 'report 1' ERR$")
    others = index_of(commands, r"dnf install -y python3 ")
    assert bootstrap < check < trap < others
    # Alone: nothing else rides in the install the trap cannot report on.
    assert re.search(r"dnf install -y aws-cfn-bootstrap &&", commands[bootstrap])
    assert "aws-cfn-bootstrap" not in commands[others]
    # Every other install, download or unpack comes after the trap.
    for i, command in enumerate(commands):
        if re.search(r"\b(dnf|aws s3 cp|unzip)\b", command) and i != bootstrap:
            assert i > trap, f"{command!r} runs before the ERR trap is set"


def test_the_trap_signals_failure_with_the_binary_installed_first():
    commands = boot_commands(SETTINGS)
    report = commands[index_of(commands, r"^report\(\)")]
    assert "/opt/aws/bin/cfn-signal --exit-code \"$1\"" in report
    assert "--resource FleetGroup" in report
    assert commands[-1] == "report 0"
