"""Collects extracted text up to the character limit and keeps counting past it."""
from __future__ import annotations

from typing import List


class TextSink:
    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.parts: List[str] = []
        self.stored = 0
        self.length = 0  # every character seen, stored or not

    def add(self, text: str) -> None:
        if not text:
            return
        self.length += len(text)
        room = self.max_chars - self.stored
        if room > 0:
            piece = text[:room]
            self.parts.append(piece)
            self.stored += len(piece)

    @property
    def truncated(self) -> bool:
        return self.length > self.stored

    def text(self) -> str:
        return "".join(self.parts)
