"""Run test-support computations without coverage's tracer.

`make test` measures the project's code (pyproject.toml's `source`); code outside it is not
measured but still pays the tracer on every call and line under Python 3.11 (no
`sys.monitoring`). The alarm replay evaluates 30 alarms for every minute of 33,000 replayed
minutes in tests/support alone: traced, it took three times as long (about 60 s more of one
core per run). It calls no project code, so pausing the tracer there changes no measured line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import coverage


@contextlib.contextmanager
def untraced() -> Iterator[None]:
    """Pause coverage (if this process measures any) for the block, in every thread."""
    cov = coverage.Coverage.current()
    if cov is None:
        yield
        return
    cov.stop()
    try:
        yield
    finally:
        cov.start()
