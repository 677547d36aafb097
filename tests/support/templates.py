"""Reading synthesized templates (plain dicts): resources of a type, and the only one of a type.

One shape everywhere: a resource is the template's whole entry (`Type`, `Properties`,
`DeletionPolicy`, ...), keyed by its logical ID.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


def resources_of_type(template: dict, kind: str) -> dict[str, dict]:
    """Logical ID -> resource, for every resource of type `kind`."""
    return {lid: r for lid, r in template.get("Resources", {}).items() if r["Type"] == kind}


def only_resource(template: dict, kind: str,
                  where: Callable[[dict], bool] | None = None) -> tuple[str, dict]:
    """(logical ID, resource) of the one resource of type `kind` (for which `where(resource)` is
    true, if given); fails naming what it found when there is none or more than one."""
    found = {lid: r for lid, r in resources_of_type(template, kind).items()
             if where is None or where(r)}
    assert len(found) == 1, f"expected exactly one {kind}, found {sorted(found)}"
    return next(iter(found.items()))


def rendered(value: object, token: str = "<token>") -> str:
    """A string, or an Fn::Join of strings and intrinsics, with each intrinsic shown as `token`."""
    if isinstance(value, str):
        return value
    parts: Iterable = value["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else token for p in parts)
