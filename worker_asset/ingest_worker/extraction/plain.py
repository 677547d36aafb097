"""Text, CSV, JSON, HTML and XML files, in whatever encoding they were written."""
from __future__ import annotations

import html.parser
import json
import re
from typing import List, Optional

from . import OK, TRUNCATED, UNSUPPORTED, Extraction, ExtractionError
from .textenc import decode, detect

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-]+)""")


class _TextOnly(html.parser.HTMLParser):
    """Collects character data; drops script/style. Never resolves entities from DTDs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: List[str] = []
        self._skip = 0
        self.title: Optional[str] = None
        self._in_title = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):  # noqa: ANN001
        if self._in_title and self.title is None and data.strip():
            self.title = data.strip()
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def html_to_text(text: str) -> "tuple[str, Optional[str]]":
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    return " ".join(parser.parts), parser.title


def _declared(data: bytes, markup: bool) -> Optional[str]:
    """The charset a markup file declares, when it reads the bytes strictly."""
    if not markup:
        return None
    m = _XML_ENCODING.match(data[:200]) or _META_CHARSET.search(data[:4096])
    if not m:
        return None
    name = m.group(1).decode("ascii").lower()
    name = {"shift_jis": "cp932", "x-sjis": "cp932", "euc-kr": "cp949", "gb2312": "gb18030",
            "gbk": "gb18030"}.get(name, name)
    try:
        data.decode(name)
    except (LookupError, UnicodeDecodeError):
        return None
    return name


def looks_binary(data: bytes) -> bool:
    """NUL bytes in text that is not UTF-16/32: a binary file under a text extension."""
    return b"\x00" in data[:8192] and not detect(data[:8192]).startswith(("utf-16", "utf-32"))


def extract_text_bytes(data: bytes, markup: bool, is_json: bool, max_chars: int) -> Extraction:
    if looks_binary(data):
        raise ExtractionError(UNSUPPORTED, "binary content under a text file extension")
    declared = _declared(data, markup)
    if declared:
        text, encoding = data.decode(declared), declared
    else:
        text, encoding = decode(data)
    title = None
    if markup:
        text, title = html_to_text(text)
    elif is_json:
        try:
            # Re-serialised so that escaped Unicode becomes searchable text.
            text = json.dumps(json.loads(text), ensure_ascii=False)
        except (ValueError, RecursionError):
            pass
    out = Extraction(status=OK, encoding=encoding, title=title, content_length=len(text))
    if len(text) > max_chars:
        text = text[:max_chars]
        out.truncated = True
        out.status = TRUNCATED
    out.content = text
    return out


def extract_text_file(path: str, max_chars: int, markup: bool, is_json: bool) -> Extraction:
    with open(path, "rb") as f:
        data = f.read()
    return extract_text_bytes(data, markup, is_json, max_chars)
