"""Re-extraction for `ops reconcile --reextract`: which documents an improved extractor should
read again, and a throttle so that the messages it enqueues never starve new uploads.

The current extractor version and the status names are read from the worker's source
(worker_asset/ingest_worker/extraction/__init__.py) without importing the worker: the operator
compares against what was deployed from this checkout (`--extractor-version` overrides it).
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ops.aws import OpsError

EXTRACTION_SOURCE = (Path(__file__).resolve().parent.parent / "worker_asset" / "ingest_worker"
                     / "extraction" / "__init__.py")


def _constants() -> dict[str, object]:
    tree = ast.parse(EXTRACTION_SOURCE.read_text(encoding="utf-8"))
    names: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            try:
                names[node.targets[0].id] = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError):  # not a literal (KINDS, ...)
                if isinstance(node.value, ast.Tuple):  # STATUSES: a tuple of the names above
                    names[node.targets[0].id] = tuple(
                        names.get(e.id) for e in node.value.elts if isinstance(e, ast.Name))
    return names


def current_version() -> str:
    return str(_constants()["EXTRACTOR_VERSION"])


def statuses() -> tuple[str, ...]:
    return tuple(str(s) for s in _constants()["STATUSES"])  # type: ignore[union-attr]


def parse_statuses(text: str) -> frozenset[str]:
    wanted = frozenset(s.strip() for s in text.split(",") if s.strip())
    known = statuses()
    unknown = sorted(wanted - set(known))
    if not wanted or unknown:
        raise OpsError(f"--extraction {text!r}: unknown status {', '.join(unknown) or '(none)'}; "
                       f"the statuses are {', '.join(known)}")
    return wanted


def older(stored: object, current: str) -> bool:
    """A document's extractor_version is older than `current`. None (indexed before extraction
    had versions) is older; numbers compare as numbers."""
    if stored is None or stored == "":
        return True
    try:
        return int(str(stored)) < int(current)
    except ValueError:
        return str(stored) != current


@dataclass(frozen=True)
class Selection:
    """Documents to re-extract: extracted by a version older than `current`, and when
    `statuses` is given, only those with one of these `extraction` statuses (e.g. what the new
    version reads better: unsupported, failed, corrupt)."""
    current: str
    statuses: frozenset[str] | None = None

    def wants(self, doc: dict) -> bool:
        if not older(doc.get("extractor_version"), self.current):
            return False
        return self.statuses is None or doc.get("extraction") in self.statuses

    def describe(self) -> str:
        text = f"extractor_version older than {self.current}"
        if self.statuses:
            text += f", extraction {' or '.join(sorted(self.statuses))}"
        return text


class Throttle:
    """At most `rate` messages a second, and none while the main queue already holds
    `max_backlog` messages or more (0: not checked): re-extraction then takes only the room
    the workers leave, and a new upload waits behind at most `max_backlog` of its messages."""

    def __init__(self, *, rate: float, max_backlog: int, depth: Callable[[], int],
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, poll_seconds: float = 5.0) -> None:
        if rate <= 0:
            raise OpsError(f"--rate {rate}: must be above 0 messages per second")
        self.rate = rate
        self.max_backlog = max_backlog
        self.depth = depth
        self.sleep = sleep
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.next_at: float | None = None
        self.waited_backlog = 0.0

    def before_send(self, count: int) -> None:
        now = self.clock()
        if self.next_at is not None and now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.clock()
        if self.max_backlog:
            while self.depth() >= self.max_backlog:
                self.sleep(self.poll_seconds)
                self.waited_backlog += self.poll_seconds
            now = self.clock()
        self.next_at = max(now, self.next_at or now) + count / self.rate
