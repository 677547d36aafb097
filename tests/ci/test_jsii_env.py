"""jsii's banner variables are set in one place, contract/jsii.env, and reach every way the app
is synthesized: make (which includes the file), contract/synth.py's subprocesses, and the tests'
in-process synthesis."""

from __future__ import annotations

import os
import subprocess

import pytest

from contract import ContractError
from contract.synth import JSII_ENV_FILE, JSII_QUIET, read_env_file, synth_env

REPO = JSII_ENV_FILE.parents[1]
NAME = "JSII_SILENCE_"


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
    return [p for p in listed.stdout.decode().split("\0") if p]


def test_the_variables_are_set_nowhere_but_the_env_file():
    this = os.path.relpath(__file__, REPO)
    elsewhere = []
    for path in tracked_files():
        file = REPO / path
        if path in (this, "contract/jsii.env") or not file.is_file():
            continue
        if NAME.encode() in file.read_bytes():
            elsewhere.append(path)
    assert elsewhere == [], f"{NAME}* belongs in contract/jsii.env only, found in {elsewhere}"


def test_the_env_file_silences_both_banners():
    assert JSII_QUIET == {"JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
                          "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


def test_make_exports_them_to_its_commands(tmp_path):
    probe = tmp_path / "probe.mk"
    probe.write_text("probe:\n\t@env | grep '^JSII_SILENCE_' | sort\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(NAME)}
    result = subprocess.run(["make", "-s", "-f", "Makefile", "-f", str(probe), "probe"], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == sorted(f"{k}={v}" for k, v in JSII_QUIET.items())


def test_synthesis_subprocesses_and_this_process_get_them():
    assert all(synth_env({})[k] == v for k, v in JSII_QUIET.items())
    assert synth_env({"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "22"})[
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] == "22", "a caller's own value wins"
    import tests.support.cdk_app  # noqa: F401  (sets them for in-process jsii)
    assert all(os.environ.get(k) for k in JSII_QUIET)


def test_a_malformed_line_names_the_file_and_line(tmp_path):
    bad = tmp_path / "jsii.env"
    bad.write_text("# fine\nexport JSII_SILENCE_X 1\n")
    with pytest.raises(ContractError, match=r"jsii\.env:2: expected `export NAME=value`"):
        read_env_file(bad)
