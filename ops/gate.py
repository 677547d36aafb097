"""Nothing is sent into a pipeline that would fail it again.

`redrive`, `replay --queue main` and `reconcile --apply` ask the gate first. It compares the
live state with the templates like `ops drift` does and refuses while a difference affects
delivery (a second path from the bucket into the queue, a missing or different notification)
or processing (the main queue's visibility timeout, delay or redrive policy, the DLQ's redrive
policy, a fleet that cannot run workers, a pause that stopped partway). `--force WHY` goes on
anyway and prints the reason with the plan. A fleet paused by `ops pause` is not a refusal:
what is sent waits in the queue until `ops resume`.
"""

from __future__ import annotations

from contract.declared import DLQ, MAIN, Declared, Difference
from contract.outputs import WORKER_GROUP
from ops import drift as drift_module
from ops import pausestate
from ops.aws import Aws, Deployed, OpsError
from ops.fleet import group_of
from ops.live import LiveState, queue_name_of, read_live
from ops.pausestate import PauseRecord

# Queue attributes that change how a message is processed (the others: retention, long poll
# and size limits, do not make a redriven message fail again).
PROCESSING = {f"{MAIN} VisibilityTimeout", f"{MAIN} RedrivePolicy", f"{MAIN} DelaySeconds",
              f"{DLQ} RedrivePolicy"}


def paused_by_ops(aws: Aws, deployed: Deployed) -> PauseRecord | None:
    return pausestate.read(group_of(aws, deployed[WORKER_GROUP]))


def expected_during_pause(difference: Difference, record: PauseRecord | None) -> bool:
    """A declared queue configuration missing because `ops pause --stop-notifications`
    removed it: `ops resume` puts it back, so it is the pause, not drift."""
    return bool(record and record.complete and record.notifications_removed
                and difference.what == "notification" and difference.live == "missing")


def drift_report(aws: Aws, deployed: Deployed, env: str, source: str,
                 found: list[Difference], unreadable: list[str]) -> tuple[str, bool]:
    """`ops drift`'s output and whether anything drifted, with the differences an ops pause
    made listed apart (they are not drift: `ops resume` undoes them)."""
    record = paused_by_ops(aws, deployed)
    paused = [d for d in found if expected_during_pause(d, record)]
    drifted = [d for d in found if d not in paused]
    text = drift_module.render(env, source, drifted, unreadable)
    if record is not None:
        state = (f"paused by ops since {record.paused_at}" if record.complete
                 else "a pause stopped partway (run `ops resume`)")
        text += f"\n  note: the fleet is {state}: {record.describe()}"
        text += "".join(f"\n  note: {d.describe()} (removed by the pause; `ops resume` puts "
                        "it back)" for d in paused)
    return text, bool(drifted)


class Gate:
    def __init__(self, aws: Aws, deployed: Deployed, declared: Declared, *,
                 force: str | None) -> None:
        self.aws, self.deployed, self.declared, self.force = aws, deployed, declared, force

    def findings(self) -> tuple[list[str], list[str]]:
        """(problems that refuse, notes for the plan)."""
        live: LiveState = read_live(self.aws, self.deployed)
        record = paused_by_ops(self.aws, self.deployed)
        found = drift_module.differences(self.declared, live, queue_name_of(self.deployed))
        problems = drift_module.second_paths(live)
        several = len([c for c in live.notification.configurations if c.queue == MAIN]) > 1
        for d in found:
            if expected_during_pause(d, record) or d.what.startswith("EventBridge"):
                continue  # EventBridge, rules and pipes: each listed by second_paths
            if d.what == "notification" and not several:  # several: listed by second_paths
                problems.append(d.describe())
            elif d.what in PROCESSING:
                problems.append(d.describe())
        problems += [f"could not check {u}" for u in live.unreadable]
        notes = []
        group = group_of(self.aws, self.deployed[WORKER_GROUP])
        suspended = {p["ProcessName"] for p in group.get("SuspendedProcesses", [])}
        if record is not None and not record.complete:
            problems.append("a pause stopped partway (ops:paused:* tags without ops:paused): "
                            "run `ops resume`")
        elif record is not None:
            notes.append(f"the fleet is paused by ops (since {record.paused_at}): what is sent "
                         "waits in the queue until `ops resume`")
        elif group["MaxSize"] == 0 or "Launch" in suspended:
            problems.append(f"the fleet cannot run workers (max {group['MaxSize']}, suspended: "
                            f"{', '.join(sorted(suspended)) or 'none'}) and ops did not pause it")
        return problems, notes

    def check(self, action: str) -> list[str]:
        """Refuse `action` on a problem (unless forced); returns the lines for the plan."""
        problems, notes = self.findings()
        lines = [f"note: {n}" for n in notes]
        if not problems:
            return lines
        listing = "\n  ".join(problems)
        if self.force is None:
            raise OpsError(f"refusing to {action}: the pipeline would fail or duplicate it "
                           f"again (see `ops drift`):\n  {listing}\nFix these first, or pass "
                           "--force WHY. Nothing was changed.")
        return lines + [f"--force given ({self.force}): going on despite:\n  {listing}"]

    def preview(self) -> list[str]:
        """For --dry-run: what would refuse, never refusing."""
        problems, notes = self.findings()
        lines = [f"note: {n}" for n in notes]
        if problems:
            lines.append("a real run would refuse (see `ops drift`):\n  " + "\n  ".join(problems))
        return lines
