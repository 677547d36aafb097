"""The workflow side of the CI OIDC roles (docs/security.md, threat model): which jobs may ask
GitHub for an OIDC token, and which role each may assume. The roles' trust policies live in
AWS, created from docs/ci.md; the `sub` they pin (environment / pull_request) only protects
prod if the workflows keep to these rules."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from tests.ci.test_workflows import WORKFLOWS

DEPLOY_ROLE = "vars.AWS_DEPLOY_ROLE_ARN"


def load(path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def oidc_problems(name: str, workflow: dict) -> list[str]:
    """What in one workflow breaks the rules; empty when it keeps them."""
    problems = []
    triggers = workflow["on"] if isinstance(workflow["on"], (dict, list)) else [workflow["on"]]
    if "pull_request_target" in triggers:
        problems.append(f"{name}: pull_request_target runs fork code with this repository's token")
    top = workflow.get("permissions") or {}
    if top.get("id-token") == "write" and set(triggers) != {"workflow_call"}:
        problems.append(f"{name}: id-token: write for every job; grant it per job")
    for job_id, job in workflow.get("jobs", {}).items():
        text = yaml.safe_dump(job)
        if DEPLOY_ROLE in text and "environment" not in job:
            problems.append(f"{name}/{job_id}: the deploy role outside a GitHub environment")
        if "pull_request" in triggers and re.search(r"AWS_DEPLOY_ROLE|OPS_WRITE", text):
            problems.append(f"{name}/{job_id}: a pull request may assume a role that writes")
    return problems


def test_every_workflow_keeps_the_oidc_rules():
    assert [p for w in WORKFLOWS for p in oidc_problems(w.name, load(w))] == []


def test_the_deploy_role_is_used_and_only_in_an_environment():
    deploy = load(next(w for w in WORKFLOWS if w.name == "deploy-environment.yml"))
    assert DEPLOY_ROLE in yaml.safe_dump(deploy["jobs"]["deploy"])
    assert deploy["jobs"]["deploy"]["environment"]


def test_fork_pull_requests_get_no_role():
    diff = load(next(w for w in WORKFLOWS if w.name == "pr-infra-diff.yml"))
    pick = diff["jobs"]["live-config"]["steps"][0]
    assert pick["env"]["FORK"] == "${{ github.event.pull_request.head.repo.fork }}"
    assert 'if [ "$FORK" != "true" ]' in pick["run"]


@pytest.mark.parametrize(("breakage", "caught"), [
    ("pull_request_target", "pull_request_target runs fork code"),
    ("top-level id-token", "grant it per job"),
    ("deploy role without environment", "the deploy role outside a GitHub environment"),
    ("deploy role in a pull request", "a pull request may assume a role that writes"),
])
def test_a_broken_workflow_is_caught(breakage, caught):
    broken = copy.deepcopy(load(next(w for w in WORKFLOWS if w.name == "deploy-environment.yml")))
    if breakage == "pull_request_target":
        broken["on"] = {"pull_request_target": None}
    elif breakage == "top-level id-token":
        broken["on"] = {"push": None}
    elif breakage == "deploy role without environment":
        del broken["jobs"]["deploy"]["environment"]
    else:
        broken["on"] = {"pull_request": None}
    assert any(caught in p for p in oidc_problems("broken.yml", broken)), oidc_problems("broken.yml", broken)
    assert not oidc_problems("deploy-environment.yml", load(next(
        w for w in WORKFLOWS if w.name == "deploy-environment.yml")))
