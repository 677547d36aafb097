"""The stage: which stacks an environment has, their names, and which ones are protected."""

from __future__ import annotations

from environments import ENVIRONMENTS

STACKS = {"Alerts": "alerts", "Stateful": "stateful", "Network": "network", "Search": "search",
          "Fleet": "fleet", "Monitoring": "monitoring"}


def test_every_environment_has_the_six_stacks_named_after_it(synthesized, env):
    stacks = synthesized.stacks[env]
    assert set(synthesized.templates[env]) == set(stacks) == set(STACKS)
    for stack_id, part in STACKS.items():
        assert stacks[stack_id].stack_name == f"file-search-{env}-{part}"
        assert stacks[stack_id].description.startswith(f"File-search ingestion ({env}): ")
        # The description reaches CloudFormation through the template.
        assert synthesized.templates[env][stack_id]["Description"] == stacks[stack_id].description


def test_stateful_stacks_are_protected_in_prod(synthesized):
    stacks = synthesized.stacks["prod"]
    assert ENVIRONMENTS["prod"].termination_protection
    assert stacks["Stateful"].termination_protection and stacks["Search"].termination_protection
    assert not stacks["Fleet"].termination_protection and not stacks["Network"].termination_protection
