"""Checks across environments: what one account and region may hold only once.

CloudWatch Logs allows 10 resource policies per account and region. The Search stacks share
one (`search.log_policy_owner`), so an account holds one per account and region whatever the
number of environments, and each account and region needs exactly one environment that creates
it. Environments without account or region deploy wherever the caller's credentials point, so
their grouping is unknown; for them only the references are checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from config.environment import EnvironmentConfig


def _creates_domain(env: EnvironmentConfig) -> bool:
    return not env.search.imported


def log_policy_problems(environments: Iterable[EnvironmentConfig]) -> list[str]:
    """Every way the environments' log-policy ownership cannot deploy; empty when it can."""
    envs = {env.name: env for env in environments}
    found = []
    for env in envs.values():
        owner_name = env.search.log_policy_owner
        if owner_name is None or not _creates_domain(env):
            continue
        where = f"{env.name}.search.log_policy_owner = {owner_name!r}"
        owner = envs.get(owner_name)
        if owner is None:
            found.append(f"{where}: no such environment (choose from {', '.join(envs)})")
        elif owner is env:
            found.append(f"{where}: an environment that creates the policy leaves this None")
        elif owner.search.log_policy_owner is not None or not _creates_domain(owner):
            found.append(f"{where}: {owner_name} does not create the policy (its "
                         f"log_policy_owner is {owner.search.log_policy_owner!r}"
                         f"{', its domain is imported' if not _creates_domain(owner) else ''})")
        elif (owner.account, owner.region) != (env.account, env.region):
            found.append(f"{where}: {owner_name} deploys to account {owner.account}, region "
                         f"{owner.region}, not {env.account}, {env.region}: a log resource "
                         "policy covers its own account and region only")

    def place(env: EnvironmentConfig) -> tuple[str, str]:
        return (env.account or "", env.region or "")

    known = sorted((e for e in envs.values() if e.account and e.region and _creates_domain(e)),
                   key=place)
    for (account, region), group in groupby(known, key=place):
        owners = [e.name for e in group if e.search.log_policy_owner is None]
        if len(owners) > 1:
            found.append(f"account {account}, region {region}: {', '.join(owners)} each create "
                         f"the OpenSearch log resource policy (CloudWatch Logs allows 10 per "
                         f"account and region); keep it in one, e.g. set "
                         f"search.log_policy_owner = {owners[0]!r} in "
                         f"{', '.join(owners[1:])}")
    return found
