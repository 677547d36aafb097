"""The daily workflow, the deploy workflow and `make ops` run the CLI as documented."""

from __future__ import annotations

import subprocess

import yaml

from tests.support.cdk_app import REPO

WORKFLOWS = REPO / ".github" / "workflows"


def steps(workflow: str, job: str) -> list[dict]:
    return yaml.safe_load((WORKFLOWS / workflow).read_text())["jobs"][job]["steps"]


def test_the_daily_workflow_diagnoses_and_checks_drift_in_every_environment():
    workflow = yaml.safe_load((WORKFLOWS / "ops-daily.yml").read_text())
    assert workflow[True]["schedule"] == [{"cron": "0 0 * * *"}]  # `on:` parses as True
    job = workflow["jobs"]["diagnose"]
    assert job["strategy"]["matrix"]["env"] == ["dev", "staging", "prod"]
    assert job["permissions"]["id-token"] == "write"
    runs = [s.get("run", "") for s in job["steps"]]
    assert any('-m ops diagnose --env "$ENV_NAME"' in r and 'exit "$code"' in r for r in runs)
    assert any('-m ops drift --env "$ENV_NAME"' in r and 'exit "$code"' in r for r in runs)


def test_the_deploy_workflow_checks_drift_right_after_deploying():
    names = [s.get("name", "") for s in steps("deploy-environment.yml", "deploy")]
    deploy = next(i for i, n in enumerate(names) if n.startswith("cdk deploy"))
    assert names[-1].startswith("ops drift")
    assert deploy < len(names) - 1
    last = steps("deploy-environment.yml", "deploy")[-1]
    assert last["run"] == '.venv/bin/python -m ops drift --env "$ENV_NAME" --assembly cdk.out'


def test_make_ops_runs_the_cli():
    result = subprocess.run(["make", "-s", "ops", "ARGS=redrive --help"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage: python -m ops redrive" in result.stdout and "--reason" in result.stdout
