"""What `ops pause` changed, recorded as tags on the worker group, so `resume` undoes exactly
that and `diagnose` can say it, from any operator's machine.

`ops:paused` (the time) is written last, when every change is done: a group with `ops:paused:*`
tags but no `ops:paused` is a pause that stopped partway (and could not roll back); `resume`
finishes undoing it. Every recorded change is written *before* it is made, and each undo is
harmless when the change was not made, so the tags never under-describe the live state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ops.aws import OpsError

TAG = "ops:paused"  # value: when the pause completed
PREFIX = f"{TAG}:"
SAVED = ("MinSize", "DesiredCapacity", "MaxSize")
SUSPENDED = f"{PREFIX}suspended-before"
NOTIFICATIONS = f"{PREFIX}notifications-removed"  # queue configurations and EventBridge
ARCHIVE = f"{PREFIX}archive"  # the file with the live notification before the pause
RULE = f"{PREFIX}rule:"  # + n -> "<bus>/<rule>" disabled by the pause
PIPE = f"{PREFIX}pipe:"  # + n -> pipe name stopped by the pause
TAG_VALUE_MAX = 256  # Auto Scaling's limit on a tag value
TAGS_MAX = 40  # of the group's 50 tags, the most a pause may use


@dataclass(frozen=True)
class PauseRecord:
    paused_at: str | None  # None: the pause stopped partway
    sizes: dict[str, int]
    suspended_before: tuple[str, ...]
    notifications_removed: bool
    archive: str | None
    rules: tuple[str, ...]
    pipes: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return self.paused_at is not None

    def tags(self) -> dict[str, str]:
        """Every tag but the marker, as written before the first change."""
        out = {f"{PREFIX}{key}": str(value) for key, value in self.sizes.items()}
        out[SUSPENDED] = ",".join(self.suspended_before)
        if self.notifications_removed:
            out[NOTIFICATIONS] = "true"
        if self.archive:
            out[ARCHIVE] = self.archive
        out.update({f"{RULE}{i}": rule for i, rule in enumerate(self.rules, 1)})
        out.update({f"{PIPE}{i}": pipe for i, pipe in enumerate(self.pipes, 1)})
        too_long = [k for k, v in out.items() if len(v) > TAG_VALUE_MAX]
        if too_long or len(out) + 1 > TAGS_MAX:
            raise OpsError(f"cannot record the pause in the group's tags ({len(out) + 1} tags; "
                           f"too long: {', '.join(too_long) or 'none'}). Nothing was changed.")
        return out

    def describe(self) -> str:
        """One line for `diagnose`: what the pause changed."""
        parts = ["min/desired/max " + "/".join("0" if k != "MaxSize" else str(self.sizes[k])
                                               for k in SAVED)
                 + f" (saved {'/'.join(str(self.sizes[k]) for k in SAVED)})"]
        if self.notifications_removed:
            parts.append("bucket notifications removed")
        if self.rules:
            parts.append(f"rules disabled: {', '.join(self.rules)}")
        if self.pipes:
            parts.append(f"pipes stopped: {', '.join(self.pipes)}")
        return "; ".join(parts)


def tags_of(group: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in group.get("Tags", [])}


def read(group: dict[str, Any]) -> PauseRecord | None:
    """The pause recorded on the group, None when there is none (no `ops:paused*` tag)."""
    tags = tags_of(group)
    if TAG not in tags and not any(k.startswith(PREFIX) for k in tags):
        return None
    try:
        sizes = {key: int(tags[f"{PREFIX}{key}"]) for key in SAVED}
    except (KeyError, ValueError) as error:
        raise OpsError(f"{group['AutoScalingGroupName']}: the pause tag ops:paused:{error} is "
                       "missing or not a number; restore min/desired/max by hand and delete the "
                       "ops:paused* tags") from None

    def numbered(prefix: str) -> tuple[str, ...]:
        keys = sorted((k for k in tags if k.startswith(prefix)), key=lambda k: int(k[len(prefix):]))
        return tuple(tags[k] for k in keys)

    return PauseRecord(
        paused_at=tags.get(TAG),
        sizes=sizes,
        suspended_before=tuple(p for p in tags.get(SUSPENDED, "").split(",") if p),
        notifications_removed=tags.get(NOTIFICATIONS) == "true",
        archive=tags.get(ARCHIVE),
        rules=numbered(RULE),
        pipes=numbered(PIPE),
    )


def keys(group: dict[str, Any]) -> list[str]:
    return [k for k in tags_of(group) if k == TAG or k.startswith(PREFIX)]
