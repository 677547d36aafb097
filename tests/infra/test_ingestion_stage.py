"""The stage: which stacks an environment has, their names, and which ones are protected."""

from __future__ import annotations

from environments import ENVIRONMENTS

STACKS = {"Alerts": "alerts", "Stateful": "stateful", "Network": "network", "Search": "search",
          "Fleet": "fleet", "Monitoring": "monitoring"}


def test_every_environment_has_the_six_stacks_named_after_it(synthesized, env):
    stage = synthesized.stages[env]
    stacks = {s.node.id: s for s in (stage.alerts, stage.stateful, stage.network, stage.search,
                                     stage.fleet, stage.monitoring)}
    assert set(synthesized.templates[env]) == set(stacks) == set(STACKS)
    for stack_id, part in STACKS.items():
        assert stacks[stack_id].stack_name == f"file-search-{env}-{part}"
        assert stacks[stack_id].template_options.description.startswith(f"File-search ingestion ({env}): ")


def test_stateful_stacks_are_protected_in_prod(synthesized):
    stage = synthesized.stages["prod"]
    assert ENVIRONMENTS["prod"].termination_protection
    assert stage.stateful.termination_protection and stage.search.termination_protection
    assert not stage.fleet.termination_protection and not stage.network.termination_protection
