"""The one `cdk synth` runner: ops, local and the tools synthesize through it.

It also silences jsii's banners for the synthesis it starts, with the variables of
`contract/jsii.env`, the one file that sets them (the Makefile includes the same file): jsii
prints a deprecation or end-of-life banner for old Node versions on every run, which would bury
the real output.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from contract import ContractError

REPO = Path(__file__).resolve().parents[1]
CDK_BIN = REPO / "node_modules" / ".bin" / "cdk"
JSII_ENV_FILE = Path(__file__).with_name("jsii.env")


def read_env_file(path: Path) -> dict[str, str]:
    """`export NAME=value` lines (comments and blank lines skipped), as make and sh read them."""
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not name.strip().isidentifier():
            raise ContractError(f"{path}:{number}: expected `export NAME=value`, got {line!r}")
        values[name.strip()] = value.strip()
    return values


JSII_QUIET = read_env_file(JSII_ENV_FILE)


class SynthError(ContractError):
    """`cdk synth` could not run or failed; the message carries its output."""


def synth_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) with the jsii banners silenced, unless set."""
    return {**JSII_QUIET, **(os.environ if base is None else base)}


def synth_command(out_dir: Path, environment: str | None = None, cdk: Path = CDK_BIN) -> list[str]:
    """`cdk synth` of one environment's stacks (`env/*`), or of every stage (`**`)."""
    selector = ["-c", f"env={environment}", f"{environment}/*"] if environment else ["**"]
    return [str(cdk), "synth", *selector, "--quiet", "--output", str(out_dir)]


def cdk_synth(out_dir: Path, *, environment: str | None = None, cwd: Path = REPO,
              cdk: Path = CDK_BIN) -> None:
    """Synthesize the app in `cwd` into `out_dir` with the project's pinned CLI (validation
    included); SynthError names the command and carries its output when it fails."""
    if not cdk.exists():
        raise SynthError(f"{cdk} not found: run `make setup` first")
    command = synth_command(out_dir, environment, cdk)
    result = subprocess.run(command, cwd=cwd, env=synth_env(), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SynthError(f"synthesis failed in {cwd} (exit {result.returncode}): {' '.join(command)}\n"
                         f"{result.stdout}{result.stderr}")
