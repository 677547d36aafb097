"""The order in which `make test`'s processes take the test modules: the slowest first.

`--dist loadfile` hands out whole modules, in the order of the collection when pytest-xdist's
own reordering (most tests first) is off (`--no-loadscope-reorder`, Makefile). A slow module
taken last leaves the other processes idle until it ends, so the modules that take longest start
first and the many short ones fill in at the end.

Only the first module waits for the run's one synthesis (tests/support/synth_cache.py): the
first process synthesizes while the next modules, which need none, keep the other processes
busy (the outage tests of test_gate.py mostly wait, the others synthesize apps of their own). A
process starting a module that needs the shared synthesis before it is ready would wait for its
lock instead of working.

Figures: the sums of `--durations=0` per module on the 2-core machine (docs/ci.md). A module
missing here keeps its place in the collection, after these; a stale entry costs only balance.
"""

from __future__ import annotations

from pathlib import Path

SLOWEST_FIRST = (
    "infra/test_alarm_replay.py",
    # No shared synthesis needed, while the first process synthesizes:
    "worker/test_gate.py",
    "ci/test_worktree.py",
    "worker/test_rounds.py",
    "infra/test_availability_zones.py",
    # The rest, slowest first:
    "infra/test_security_review.py",
    "ops/test_diagnose.py",
    "ops/test_pause_resume.py",
    "ops/test_redrive.py",
    "ops/test_robustness.py",
    "infra/guard/test_cdk_plugin.py",
    "ops/test_index.py",
    "local/test_local_process.py",
    "ops/test_purge_replay.py",
    "local/test_dev_templates.py",
    "ops/test_reconcile.py",
    "ops/test_incident_recovery.py",
    "worker/test_extraction.py",
    "ops/test_drift.py",
    "worker/test_liveness.py",
    "worker/test_worker.py",
    "ops/test_test_alarm.py",
    "ops/test_teardown.py",
    "infra/test_monitoring_stack.py",
)


def slowest_first(items: list, tests_dir: Path) -> None:
    """Reorder `items` in place: the modules of SLOWEST_FIRST in that order, then the others
    in collection order. A module's tests stay together and in their own order."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}

    def key(item) -> int:
        return rank.get(item.path.relative_to(tests_dir).as_posix(), len(rank))
    items.sort(key=key)
