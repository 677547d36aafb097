"""The `make diff` path for real: synthesize a git ref in a temporary worktree (about 10 s)."""

from __future__ import annotations

import subprocess

import pytest

from tools.template_diff import REPO, base_stacks


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout.strip()


def _worktrees() -> set[str]:
    # Paths only: the main worktree's HEAD moves when a colleague commits during the test.
    return {line for line in _git("worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")}


def test_head_is_synthesized_in_a_worktree_that_is_removed_afterwards(tmp_path):
    before = _worktrees()

    stacks = base_stacks("HEAD", tmp_path)

    names = {s.display_name for s in stacks.values()}
    # Every stage has its stateful stack; other stacks (Fleet, Monitoring) may come and go.
    assert {"dev/Stateful", "staging/Stateful", "prod/Stateful"} <= names
    assert all(s.template["Resources"] for s in stacks.values())
    assert _worktrees() == before


def test_a_ref_that_predates_the_cdk_app_has_no_stacks(tmp_path):
    root = _git("rev-list", "--max-parents=0", "HEAD").splitlines()[-1]
    if _git("ls-tree", "--name-only", root, "app.py"):
        pytest.skip("the first commit already has the CDK app")
    assert base_stacks(root, tmp_path) == {}
