"""Generated blocks inside hand-written docs: the text between two marker comments is replaced,
the text around them is left as written. Used by tools.alarm_docs and tools.bench_docs."""

from __future__ import annotations

import re


def replace_block(text: str, where: str, begin: str, end: str, content: str) -> str:
    """`text` with what lies between `begin` and `end` replaced by `content`; the markers must
    be there exactly once (`where` names the file in the error)."""
    pattern = re.compile(re.escape(begin) + r"\n.*?\n?" + re.escape(end), flags=re.DOTALL)
    if len(pattern.findall(text)) != 1:
        raise ValueError(f"{where}: expected the markers {begin!r} ... {end!r} once")
    return pattern.sub(lambda _: f"{begin}\n{content}\n{end}", text)
