"""Conditions: the guard follows both branches of every `Fn::If` and resources under a Condition.

A path behind a condition exists in the deployments where that condition holds. Each value the
detectors read comes with the condition values it needs (its `Assumptions`). Two paths count
together only when their assumptions can hold at the same time: the two branches of one Fn::If
never add up to a false duplicate, while a second path hidden behind a condition is still found.

Conditions are per template (each stack has its own). A condition defined as `Fn::Not` of
another is read as that one's negation; any other definition (Fn::Equals on a parameter,
Fn::And, ...) is an independent unknown, so the guard assumes it may hold together with the
others: it would rather refuse a combination that cannot occur than miss one that can.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

# ((template path, condition name), required value)
Literal = tuple[tuple[str, str], bool]
Assumptions = frozenset[Literal]
ALWAYS: Assumptions = frozenset()

# Beyond this many conditions on the paths to one queue the guard stops enumerating and counts
# every path together (refusing rather than guessing).
MAX_ENUMERATED_CONDITIONS = 12


def combine(*parts: Assumptions | None) -> Assumptions | None:
    """All assumptions together, or None when they contradict each other."""
    if any(part is None for part in parts):
        return None
    merged = frozenset().union(*parts)
    variables = [variable for variable, _ in merged]
    return merged if len(variables) == len(set(variables)) else None


def literal(conditions: dict[str, Any], template_path: str, name: str, value: bool = True) -> Literal:
    """The condition `name` == `value`, with `Fn::Not` of another condition read as its negation."""
    for _ in range(10):
        definition = conditions.get(name)
        if not (isinstance(definition, dict) and list(definition) == ["Fn::Not"]):
            break
        negated = definition["Fn::Not"]
        if not (isinstance(negated, list) and len(negated) == 1 and isinstance(negated[0], dict)
                and isinstance(negated[0].get("Condition"), str)):
            break
        name, value = negated[0]["Condition"], not value
    return (template_path, name), value


def describe(assumptions: Assumptions) -> str:
    """' [if condition X is true, Y is false]' for a message, '' when unconditional."""
    if not assumptions:
        return ""
    shown = ", ".join(f"{name} is {str(value).lower()}" for (_, name), value in sorted(assumptions))
    return f" [if condition {shown}]"


class HasAssumptions(Protocol):
    @property
    def assumptions(self) -> Assumptions: ...


T = TypeVar("T", bound=HasAssumptions)


def largest_simultaneous(
    items: Sequence[T], within: Callable[[list[T]], list[T]] = list
) -> list[T]:
    """The largest subset of `items` whose conditions can all hold in one deployment; `within`
    picks the part of one deployment's items that counts (the guard: those one event reaches)."""
    variables = sorted({variable for item in items for variable, _ in item.assumptions})
    if len(variables) > MAX_ENUMERATED_CONDITIONS:
        return within(list(items))
    best: list[T] = []
    for values in itertools.product((True, False), repeat=len(variables)):
        world = dict(zip(variables, values, strict=True))
        active = within([item for item in items if all(world[v] == b for v, b in item.assumptions)])
        if len(active) > len(best):
            best = active
    return best


class ConditionReader:
    """Expands `Fn::If` within one template, yielding every value an expression can take."""

    def __init__(self, template: dict[str, Any], template_path: str):
        self.conditions = template.get("Conditions") or {}
        self.template_path = template_path

    def of_resource(self, resource: dict[str, Any]) -> Assumptions:
        """A resource with a `Condition` attribute exists only when that condition holds."""
        name = resource.get("Condition")
        if not isinstance(name, str):
            return ALWAYS
        return frozenset([literal(self.conditions, self.template_path, name)])

    def branches(
        self, value: Any, location: str, assumptions: Assumptions = ALWAYS
    ) -> Iterator[tuple[Assumptions, Any, str]]:
        """(assumptions, value, location) for each branch; a `Ref: AWS::NoValue` branch is absent."""
        if value == {"Ref": "AWS::NoValue"}:
            return
        if isinstance(value, dict) and list(value) == ["Fn::If"]:
            arg = value["Fn::If"]
            if isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str):
                for index, holds in ((1, True), (2, False)):
                    needed = combine(
                        assumptions, frozenset([literal(self.conditions, self.template_path, arg[0], holds)])
                    )
                    if needed is not None:
                        yield from self.branches(arg[index], f"{location}/Fn::If/{index}", needed)
                return
        yield assumptions, value, location

    def list_items(
        self, value: Any, location: str, assumptions: Assumptions = ALWAYS
    ) -> Iterator[tuple[Assumptions, int, dict[str, Any], str]]:
        """(assumptions, index, item, location) for each object in a list property, on every branch."""
        for list_assumptions, items, list_location in self.branches(value, location, assumptions):
            if not isinstance(items, list):
                continue
            for index, raw in enumerate(items):
                for item_assumptions, item, item_location in self.branches(
                    raw, f"{list_location}/{index}", list_assumptions
                ):
                    if isinstance(item, dict):
                        yield item_assumptions, index, item, item_location
