"""Errors name what is missing; every command takes --env, --region, --profile."""

from __future__ import annotations

import io

from ops.cli import main


def test_a_stack_that_is_not_deployed_is_named(deployed, ops):
    deployed.cfn.delete_stack(StackName="file-search-dev-fleet")
    code, out = ops("diagnose")
    assert code == 2
    assert out.strip() == ("error: stack file-search-dev-fleet is not deployed in us-east-1 "
                           "(environment 'dev'; needed for WorkerGroupName, WorkerLogGroupName)")


def test_an_output_that_is_missing_is_named(deployed, ops):
    deployed.cfn.delete_stack(StackName="file-search-dev-monitoring")
    deployed.create_stack("monitoring", {})
    code, out = ops("drift")
    assert code == 2
    assert "stack file-search-dev-monitoring has no output AlarmNamePrefix" in out
    assert "make deploy ENV=dev" in out


def test_an_unknown_profile_is_named(deployed, ops):
    code, out = ops("diagnose", "--profile", "no-such-profile")
    assert code == 2 and "no-such-profile" in out and "--profile" in out


def test_an_unknown_environment_is_refused():
    out = io.StringIO()
    assert main(["diagnose", "--env", "qa"], stdout=out) == 2
    assert out.getvalue() == ("error: argument --env: invalid choice: 'qa' (choose from 'dev', "
                              "'staging', 'prod') (see `python -m ops diagnose --help`)\n")
