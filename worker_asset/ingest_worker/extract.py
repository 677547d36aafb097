"""Text extraction for common text formats; everything else is indexed by metadata only."""
from __future__ import annotations

import codecs
import html.parser
import json
import posixpath
from typing import List, Optional

TEXT_EXTENSIONS = {".txt", ".md", ".markdown", ".csv", ".tsv", ".log", ".json"}
MARKUP_EXTENSIONS = {".html", ".htm", ".xml"}
# Cap on stored text: large documents are still searchable by their beginning.
MAX_TEXT_CHARS = 1_000_000


def extension(key: str) -> str:
    return posixpath.splitext(key)[1].lower()


def supported(key: str) -> bool:
    ext = extension(key)
    return ext in TEXT_EXTENSIONS or ext in MARKUP_EXTENSIONS


def _decode(data: bytes) -> Optional[str]:
    if b"\x00" in data[:8192]:
        return None  # binary content under a text extension
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class _TextOnly(html.parser.HTMLParser):
    """Collects character data; drops script/style. Never resolves entities from DTDs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: List[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):  # noqa: ANN001
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def extract_text(key: str, data: bytes) -> Optional[str]:
    """Text of the object, or None when it should be indexed by metadata only."""
    ext = extension(key)
    if ext not in TEXT_EXTENSIONS and ext not in MARKUP_EXTENSIONS:
        return None
    text = _decode(data)
    if text is None:
        return None
    if ext in MARKUP_EXTENSIONS:
        parser = _TextOnly()
        parser.feed(text)
        parser.close()
        text = " ".join(parser.parts)
    elif ext == ".json":
        try:
            # Re-serialise so that escaped unicode becomes searchable text.
            text = json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            pass
    return text[:MAX_TEXT_CHARS]
