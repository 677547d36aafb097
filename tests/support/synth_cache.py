"""One synthesis of the real app per test run, shared by every pytest-xdist worker process.

`make test` runs pytest in two processes (`-n 2`). Synthesizing every environment takes tens of
seconds, so the first process to need the templates synthesizes them into a directory both
processes see (the run's base temporary directory), under a file lock; the other waits for the
lock and then reads the cloud assembly and templates from there. Without xdist the same code
synthesizes once into the session's own temporary directory.

Most tests need only the files (`outdir`) and the templates. A few inspect the live construct
tree (`stages`: stack objects, termination protection, stack names); the process that
synthesized keeps it, any other process synthesizes the app again on first use of `stages`.
tests/conftest.py puts the modules that use `stages` in one xdist group so at most one process
does that.

The project's imports (tests.support.cdk_app) are all in this module and tests/conftest.py.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

from tests.support.cdk_app import Synthesized, synthesize_all

CACHE_NAME = "shared-synthesis"
TEMPLATES_FILE = "templates.json"
DONE_FILE = "done"


class SharedSynthesis(Synthesized):
    """`Synthesized` whose construct tree (`stages`) is built only when a test asks for it."""

    def __init__(self, outdir: Path, templates: dict, stages: dict | None, scratch: Path) -> None:
        # Not the dataclass __init__: `stages` is the lazy property below.
        self.outdir, self.templates, self._stages, self._scratch = outdir, templates, stages, scratch

    @property
    def stages(self) -> dict:
        if self._stages is None:
            # Another process wrote the shared files; this one needs the live constructs. The same
            # sources synthesize the same templates (checked: they must equal the shared ones).
            fresh = synthesize_all(self._scratch)
            assert fresh.templates == self.templates, "a second synthesis differs from the shared one"
            self._stages = fresh.stages
        return self._stages


def shared_synthesis(shared_root: Path, scratch: Path) -> SharedSynthesis:
    """The run's one synthesis, in `shared_root/shared-synthesis` (made here if absent).

    `shared_root` is a directory every process of this run sees and no other run does;
    `scratch` is this process's own, for a second synthesis should it need the construct tree.
    """
    cache = shared_root / CACHE_NAME
    cache.mkdir(parents=True, exist_ok=True)
    outdir = cache / "cdk.out"
    with open(shared_root / f"{CACHE_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if (cache / DONE_FILE).exists():
            templates = json.loads((cache / TEMPLATES_FILE).read_text())
            return SharedSynthesis(outdir, templates, None, scratch)
        # A failed synthesis leaves no DONE_FILE: the next process tries again and reports the
        # same error for its own tests.
        synthesized = synthesize_all(outdir)
        (cache / TEMPLATES_FILE).write_text(json.dumps(synthesized.templates))
        (cache / DONE_FILE).write_text("")
        return SharedSynthesis(outdir, synthesized.templates, synthesized.stages, scratch)
