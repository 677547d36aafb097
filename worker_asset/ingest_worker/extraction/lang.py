"""The main language of a text, from its scripts: enough to route Japanese, Korean and
Chinese to their analysers and to tell English from other Latin-script text."""
from __future__ import annotations

import re
from typing import Optional

_EN_WORDS = {"the", "and", "of", "to", "in", "is", "for", "that", "with", "on", "this", "are",
             "be", "as", "by", "it", "from", "or", "an", "at", "was", "we", "you", "not"}
_WORD = re.compile(r"[A-Za-z]+")


def detect_language(text: str, sample: int = 20000) -> Optional[str]:
    """ISO 639-1 code (ja, ko, zh, en) or None when undecided."""
    head = text[:sample]
    kana = hangul = han = latin = 0
    for ch in head:
        o = ord(ch)
        if 0x3040 <= o <= 0x30ff or 0xff66 <= o <= 0xff9f:
            kana += 1
        elif 0xac00 <= o <= 0xd7a3 or 0x1100 <= o <= 0x11ff:
            hangul += 1
        elif 0x4e00 <= o <= 0x9fff or 0x3400 <= o <= 0x4dbf:
            han += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
    cjk = kana + hangul + han
    if cjk >= 10 and cjk * 3 >= latin * 0.5:
        if hangul > kana and hangul >= han * 0.5:
            return "ko"
        if kana and kana * 20 >= han:
            return "ja"
        if han:
            return "zh"
    words = _WORD.findall(head.lower())
    if len(words) >= 5 and sum(w in _EN_WORDS for w in words) >= 0.05 * len(words):
        return "en"
    return None
