"""S3 event types, and whether two notification paths can deliver the same event.

One rule, used by the synthesis-time notification guard (pipeline_constructs/notification_guard)
and by `ops drift` on the live bucket: two paths to one queue deliver an event twice exactly
when both cover its type (`s3:ObjectCreated:*` covers `s3:ObjectCreated:Put`, ...) and its key
passes both key filters (prefixes and suffixes that can hold for one key). A created-path and a
removed-path never overlap, so they are not duplicates.

Strict where it cannot tell: an event type it does not know (a typo, a CloudFormation token, a
type newer than this list) covers every type, and a filter value that is not a string filters
nothing; so the guard refuses a combination it cannot read rather than miss a duplicate. A path
without event types of its own (EventBridge, a rule, a pipe, an SNS fan-out) covers everything.

The types, from the S3 user guide ("Supported event types for SQS, SNS and Lambda"); the guard's
tests check that every type CDK's `s3.EventType` names is known here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

EVENT_TYPES: tuple[str, ...] = (
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:ReducedRedundancyLostObject",
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:Replication:OperationNotTracked",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
    "s3:ObjectAcl:Put",
)
ALL_TYPES = frozenset(EVENT_TYPES)


def covered(events: Any) -> frozenset[str]:
    """The event types an `Events` list (or CloudFormation's single `Event`) delivers."""
    if isinstance(events, str):
        events = [events]
    if not isinstance(events, list) or not events:
        return ALL_TYPES
    out: set[str] = set()
    for event in events:
        if not isinstance(event, str):
            return ALL_TYPES
        if event.endswith(":*"):
            family = event[:-1]
            matched = {t for t in EVENT_TYPES if t.startswith(family)}
        else:
            matched = {event} & ALL_TYPES
        if not matched:
            return ALL_TYPES
        out |= matched
    return frozenset(out)


@dataclass(frozen=True)
class Delivery:
    """What one path delivers: event types, and the key prefix and suffix it requires."""

    events: frozenset[str] = ALL_TYPES
    prefix: str = ""
    suffix: str = ""

    @classmethod
    def of_configuration(cls, configuration: Mapping[str, Any]) -> Delivery:
        """From a queue/topic/Lambda configuration in the S3 API's shape (`Events`,
        `Filter.Key.FilterRules`) or CloudFormation's (`Event`, `Filter.S3Key.Rules`)."""
        events = configuration.get("Events", configuration.get("Event"))
        key_filter = configuration.get("Filter") or {}
        rules = ((key_filter.get("Key") or {}).get("FilterRules")
                 or (key_filter.get("S3Key") or {}).get("Rules") or [])
        found = {"prefix": "", "suffix": ""}
        for rule in rules if isinstance(rules, list) else []:
            name = str(rule.get("Name", "")).lower() if isinstance(rule, dict) else ""
            value = rule.get("Value") if isinstance(rule, dict) else None
            if name in found and isinstance(value, str):
                found[name] = value
        return cls(covered(events), found["prefix"], found["suffix"])

    def overlaps(self, other: Delivery) -> bool:
        return overlapping([self, other]) is not None


EVERYTHING = Delivery()


def overlapping(deliveries: Sequence[Delivery]) -> tuple[str, str] | None:
    """(event type, key) that every one of `deliveries` delivers, or None if no event does."""
    if not deliveries:
        return None
    common = frozenset.intersection(*(d.events for d in deliveries))
    if not common:
        return None
    prefix = max((d.prefix for d in deliveries), key=len)
    suffix = max((d.suffix for d in deliveries), key=len)
    key = prefix + suffix
    if all(key.startswith(d.prefix) and key.endswith(d.suffix) for d in deliveries):
        return sorted(common)[0], key
    return None


T = TypeVar("T")


def largest_overlapping(items: Sequence[T], delivery: Callable[[T], Delivery]) -> list[T]:
    """The largest subset of `items` that one single event reaches (each of them delivers it).

    Such a set exists for some event type and the key "longest prefix + longest suffix" of the
    set, so trying every type with every (prefix, suffix) pair among the items finds it.
    """
    # Sorted, so that of two sets of the same size the same one is reported every run.
    prefixes = sorted({delivery(i).prefix for i in items} | {""})
    suffixes = sorted({delivery(i).suffix for i in items} | {""})
    types: Iterable[str] = sorted(frozenset().union(*(delivery(i).events for i in items))) if items else ()
    best: list[T] = []
    for event in types:
        for prefix in prefixes:
            for suffix in suffixes:
                key = prefix + suffix
                reached = [i for i in items if event in delivery(i).events
                           and key.startswith(delivery(i).prefix) and key.endswith(delivery(i).suffix)]
                if len(reached) > len(best):
                    best = reached
    return best
