"""One synthesis of the real app per test run, shared by every pytest-xdist worker process.

`make test` runs pytest in several processes (`-n`). Synthesizing every environment takes tens
of seconds, so the first process to need the templates synthesizes them into a directory every
process sees (the run's base temporary directory), under a file lock; the others wait for the
lock and then read the cloud assembly, the templates and the stacks' summaries from there.
Without xdist the same code synthesizes once into the session's own temporary directory.

Tests read only files and plain data (`outdir`, `templates`, `stacks`), never the live
construct tree, so no process ever synthesizes a second time.

The project's imports (tests.support.cdk_app) are all in this module and tests/conftest.py.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
from pathlib import Path

from tests.support.cdk_app import StackInfo, Synthesized, synthesize_all

CACHE_NAME = "shared-synthesis"
TEMPLATES_FILE = "templates.json"
STACKS_FILE = "stacks.json"
DONE_FILE = "done"


def shared_synthesis(shared_root: Path) -> Synthesized:
    """The run's one synthesis, in `shared_root/shared-synthesis` (made here if absent).

    `shared_root` is a directory every process of this run sees and no other run does.
    """
    cache = shared_root / CACHE_NAME
    cache.mkdir(parents=True, exist_ok=True)
    outdir = cache / "cdk.out"
    with open(shared_root / f"{CACHE_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if (cache / DONE_FILE).exists():
            templates = json.loads((cache / TEMPLATES_FILE).read_text())
            stacks = {env: {stack_id: StackInfo(**info) for stack_id, info in by_id.items()}
                      for env, by_id in json.loads((cache / STACKS_FILE).read_text()).items()}
            return Synthesized(outdir, templates, stacks)
        # A failed synthesis leaves no DONE_FILE: the next process tries again and reports the
        # same error for its own tests.
        synthesized = synthesize_all(outdir)
        (cache / TEMPLATES_FILE).write_text(json.dumps(synthesized.templates))
        (cache / STACKS_FILE).write_text(json.dumps(
            {env: {stack_id: dataclasses.asdict(info) for stack_id, info in by_id.items()}
             for env, by_id in synthesized.stacks.items()}))
        (cache / DONE_FILE).write_text("")
        return synthesized
