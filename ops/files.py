"""Local files written by `ops` (archives, ledgers): one timestamp style, and a writability
check made before anything is changed."""

from __future__ import annotations

import datetime
import os
import tempfile
from pathlib import Path

from ops.aws import OpsError


def stamp(now: datetime.datetime | None = None) -> str:
    """UTC time as every archive file name writes it: 20261206T181749Z."""
    return f"{now or datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%SZ}"


def ensure_writable_dir(directory: Path, option: str) -> None:
    """Create `directory` and prove a file can be written there, or say why not (exit 2)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".ops-write-check-"):
            pass
    except OSError as error:
        raise OpsError(f"{option} {directory} is not a writable directory "
                       f"({error.strerror or error}). Nothing was changed.") from None


def write_synced(path: Path, text: str) -> None:
    """Write a new file (never overwrite) and fsync it before going on."""
    try:
        with open(path, "x", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
    except OSError as error:
        raise OpsError(f"cannot write {path} ({error.strerror or error}). Nothing was "
                       "changed.") from None
