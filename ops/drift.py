"""`ops drift`: the live notification path and queue attributes against the templates.

The bucket's notification is applied by a CDK custom resource, so CloudFormation's own drift
detection never sees a queue configuration added by hand; this does.
"""

from __future__ import annotations

from collections import Counter

from contract.declared import DLQ, MAIN, Declared, Difference, QueueConfiguration, queue_differences
from contract.s3_event_types import Delivery, covered, largest_overlapping
from ops.live import LiveState


def differences(declared: Declared, live: LiveState, name_of) -> list[Difference]:
    out: list[Difference] = []
    want = Counter(declared.notification)
    have = Counter(live.notification.configurations)
    for configuration in sorted(want - have, key=str):
        out.append(Difference("notification", configuration.describe(), "missing"))
    for configuration in sorted(have - want, key=str):
        out.append(Difference("notification", "not declared", configuration.describe()))
    for other in live.notification.others:
        out.append(Difference("notification", "not declared", other))
    if live.notification.eventbridge != declared.eventbridge:
        out.append(Difference("EventBridge on the bucket", _on(declared.eventbridge),
                              _on(live.notification.eventbridge)))
    for kind, declared_names, live_names in (("EventBridge rules targeting the main queue",
                                              declared.rules, live.rules),
                                             ("EventBridge pipes targeting the main queue",
                                              declared.pipes, live.pipes)):
        if len(live_names) != len(declared_names):
            out.append(Difference(kind, ", ".join(declared_names) or "none",
                                  ", ".join(live_names) or "none"))
    for queue, props, attributes in ((MAIN, declared.main_queue, live.main_attributes),
                                     (DLQ, declared.dead_letter_queue, live.dlq_attributes)):
        for difference in queue_differences(props, attributes, name_of):
            out.append(Difference(f"{queue} {difference.what}", difference.declared,
                                  difference.live))
    return out


def second_paths(live: LiveState) -> list[str]:
    """Every way S3 events reach the main queue beyond one queue configuration: a redrive into
    a pipeline with any of these repeats the incident (each upload delivered several times).
    Queue configurations count only where one event reaches several (the guard's rule,
    contract/s3_event_types.py): one for created and one for removed objects is not a second path."""
    to_main = [c for c in live.notification.configurations if c.queue == MAIN]
    paths = []
    overlapping = largest_overlapping(to_main, _delivery)
    if len(overlapping) > 1:
        paths += [f"queue configuration #{i}: {c.describe()}" for i, c in enumerate(to_main, 1)
                  if c in overlapping]
    if live.notification.eventbridge:
        paths.append("EventBridge enabled on the bucket")
    paths += [f"EventBridge rule {r} targets the main queue" for r in live.rules]
    paths += [f"EventBridge pipe {p} targets the main queue" for p in live.pipes]
    return paths


def _delivery(configuration: QueueConfiguration) -> Delivery:
    filters = dict(configuration.filters)
    return Delivery(covered(list(configuration.events)), filters.get("prefix", ""),
                    filters.get("suffix", ""))


def render(env: str, source: str, found: list[Difference], unreadable: list[str]) -> str:
    lines = []
    if found:
        lines.append(f"DRIFT in {env}: {len(found)} difference(s), live vs {source}")
        for d in found:
            lines.append(f"  {d.what}:")
            lines.append(f"    - declared: {d.declared}")
            lines.append(f"    + live:     {d.live}")
    else:
        lines.append(f"No drift in {env}: notification, EventBridge, rules, pipes and queue "
                     f"attributes match {source}")
    lines += [f"  could not read {u}" for u in unreadable]
    return "\n".join(lines)


def _on(flag: bool) -> str:
    return "on" if flag else "off"
