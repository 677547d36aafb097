"""Linux processes as /proc shows them, for tests that check what a process leaves behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, session ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _live() -> Iterator[tuple[int, list[str]]]:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat(entry.name)
        except (FileNotFoundError, ProcessLookupError):  # ended while we looked
            continue
        if fields[0] != "Z":
            yield int(entry.name), fields


def gone(pid: int) -> bool:
    """The process no longer exists (or is a zombie waiting to be reaped: it runs nothing)."""
    try:
        return _stat(pid)[0] == "Z"
    except FileNotFoundError:
        return True


def children(pid: int) -> list[int]:
    """Live processes whose parent is `pid`."""
    return [child for child, fields in _live() if int(fields[1]) == pid]


def session_members(session_id: int) -> list[int]:
    """Live processes in a session (a process that leads its own: its children would be here)."""
    return [member for member, fields in _live() if int(fields[3]) == session_id]
