"""logs.py: one JSON object per line."""
from __future__ import annotations

import io
import json

from ingest_worker.logs import JsonLog


def test_json_log_lines_have_the_stable_fields():
    stream = io.StringIO()
    log = JsonLog("INFO", stream=stream)
    log.debug("hidden", "below threshold")
    log.warning("message_failed", "retry", message_id="m", transient=True, receive_count=2)
    (line,) = stream.getvalue().splitlines()
    rec = json.loads(line)
    assert rec["ts"].endswith("Z") and "T" in rec["ts"]
    assert (rec["level"], rec["event"], rec["msg"], rec["transient"]) == (
        "WARNING", "message_failed", "retry", True)
