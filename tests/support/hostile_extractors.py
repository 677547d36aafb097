"""Extractors that misbehave on purpose, injected into the sandbox by module path (the spawned
process imports them): they stand in for a parser that hangs, spins, leaks or crashes."""
from __future__ import annotations

import os
import time

from ingest_worker.extraction import Extraction
from ingest_worker.extraction.dispatch import extract_file


def by_name(path: str, key: str, limits):  # noqa: ANN001
    """Misbehave as the key says; otherwise extract normally."""
    if "hang" in key:
        time.sleep(3600)
    if "spin" in key:
        while True:
            pass
    if "hog" in key:
        hoard = []
        while True:
            hoard.append(bytearray(16 << 20))
    if "crash" in key:
        os.abort()
    if "pid" in key:
        return Extraction(status="ok", content=str(os.getpid()))
    return extract_file(path, key, limits)
