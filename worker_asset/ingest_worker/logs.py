"""One JSON object per line on stdout; CloudWatch metric filters match these field names."""
from __future__ import annotations

import datetime
import json
import sys
import threading
from typing import Any, Dict, Optional, TextIO

_LEVELS: Dict[str, int] = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}


class JsonLog:
    def __init__(self, level: str = "INFO", stream: Optional[TextIO] = None) -> None:
        self._threshold = _LEVELS[level]
        self._stream = stream
        self._lock = threading.RLock()

    def set_level(self, level: str) -> None:
        self._threshold = _LEVELS[level]

    def log(self, level: str, event: str, msg: str, **fields: Any) -> None:
        if _LEVELS[level] < self._threshold:
            return
        now = datetime.datetime.now(datetime.timezone.utc)
        record = {
            "ts": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
            "level": level,
            "event": event,
            "msg": msg,
        }
        record.update(fields)
        line = json.dumps(record, ensure_ascii=False, default=str)
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(line + "\n")
            stream.flush()

    def debug(self, event: str, msg: str, **fields: Any) -> None:
        self.log("DEBUG", event, msg, **fields)

    def info(self, event: str, msg: str, **fields: Any) -> None:
        self.log("INFO", event, msg, **fields)

    def warning(self, event: str, msg: str, **fields: Any) -> None:
        self.log("WARNING", event, msg, **fields)

    def error(self, event: str, msg: str, **fields: Any) -> None:
        self.log("ERROR", event, msg, **fields)
