"""Zip containers (OOXML, OpenDocument) and their XML, read with the limits a bomb hits.

The central directory's sizes are claims: every entry is read through a counter that stops at
the declared size, the per-archive budget and the expansion-ratio cap, whichever comes first.
XML is parsed with expat directly (as defusedxml does): a DOCTYPE, an entity declaration or an
external entity aborts the parse, so neither billion-laughs expansion nor external fetches
happen, and nesting deeper than the limit aborts too.
"""
from __future__ import annotations

import zipfile
from typing import Callable, Dict, Iterator, List, Optional, Tuple
from xml.parsers import expat

from . import CORRUPT, ENCRYPTED, TOO_LARGE, ExtractionError, Limits

_CHUNK = 64 * 1024


def _fold(name: str) -> str:
    return name.replace("\\", "/").lower()


class SafeZip:
    def __init__(self, path: str, limits: Limits) -> None:
        self.limits = limits
        self.read_total = 0
        try:
            self.zip = zipfile.ZipFile(path)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ExtractionError(CORRUPT, f"not a readable zip container: {exc}") from None
        if len(infos) > limits.zip_max_entries:
            raise ExtractionError(TOO_LARGE, f"{len(infos)} zip entries (limit "
                                  f"{limits.zip_max_entries})")
        self.infos: Dict[str, zipfile.ZipInfo] = {i.filename: i for i in infos}
        # Part names are case-insensitive (OPC, ECMA-376 Part 2) and some writers store
        # Windows separators (xl\workbook.xml, seen in Apache POI's test files): looked up
        # folded when the exact name is absent.
        self.folded: Dict[str, zipfile.ZipInfo] = {_fold(i.filename): i for i in infos}

    def close(self) -> None:
        self.zip.close()

    def names(self) -> List[str]:
        return [name.replace("\\", "/") for name in self.infos]

    def _info(self, name: str) -> Optional[zipfile.ZipInfo]:
        return self.infos.get(name) or self.folded.get(_fold(name))

    def has(self, name: str) -> bool:
        return self._info(name) is not None

    def chunks(self, name: str) -> Iterator[bytes]:
        info = self._info(name)
        if info is None:
            raise ExtractionError(CORRUPT, f"zip entry {name!r} is missing")
        if info.flag_bits & 0x1:
            raise ExtractionError(ENCRYPTED, f"zip entry {name!r} is encrypted")
        allowed = max(info.compress_size, 1) * self.limits.zip_max_ratio + _CHUNK
        read = 0
        try:
            with self.zip.open(info) as stream:
                while True:
                    chunk = stream.read(_CHUNK)
                    if not chunk:
                        return
                    read += len(chunk)
                    self.read_total += len(chunk)
                    if read > allowed:
                        raise ExtractionError(TOO_LARGE, f"zip entry {name!r} expands more than "
                                              f"{self.limits.zip_max_ratio}x (zip bomb?)")
                    if self.read_total > self.limits.zip_max_bytes:
                        raise ExtractionError(TOO_LARGE, "archive expands past "
                                              f"{self.limits.zip_max_bytes} bytes")
                    yield chunk
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError,
                __import__("zlib").error) as exc:
            raise ExtractionError(CORRUPT, f"zip entry {name!r}: {exc}") from None

    def read(self, name: str) -> bytes:
        return b"".join(self.chunks(name))


def _forbid(what: str) -> Callable[..., None]:
    def handler(*_args: object) -> None:
        raise ExtractionError(CORRUPT, f"XML with {what} refused (entity expansion guard)")
    return handler


def parse_xml(chunks: Iterator[bytes], limits: Limits,
              start: Callable[[str, Dict[str, str]], None],
              end: Callable[[str], None],
              text: Callable[[str], None]) -> None:
    """Stream XML through expat with namespace-expanded names ("{uri}local")."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _forbid("a DOCTYPE")
    parser.EntityDeclHandler = _forbid("an entity declaration")
    parser.UnparsedEntityDeclHandler = _forbid("an unparsed entity")
    parser.ExternalEntityRefHandler = _forbid("an external entity")
    parser.buffer_text = True
    depth = [0]

    def on_start(name: str, attrs: Dict[str, str]) -> None:
        depth[0] += 1
        if depth[0] > limits.xml_max_depth:
            raise ExtractionError(CORRUPT, f"XML nested deeper than {limits.xml_max_depth}")
        if any("}" in k for k in attrs):
            attrs = {("{" + k if "}" in k else k): v for k, v in attrs.items()}
        start("{" + name if "}" in name else name, attrs)

    def on_end(name: str) -> None:
        depth[0] -= 1
        end("{" + name if "}" in name else name)

    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    parser.CharacterDataHandler = text
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise ExtractionError(CORRUPT, f"malformed XML: {exc}") from None


def ns_attr(attrs: Dict[str, str], local: str) -> Optional[str]:
    """An attribute by local name, whatever its namespace."""
    for key, value in attrs.items():
        if key == local or key.endswith("}" + local):
            return value
    return None


def local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def simple_fields(z: SafeZip, name: str, limits: Limits,
                  wanted: Tuple[str, ...]) -> Dict[str, str]:
    """Text of the elements with these local names (first occurrence), e.g. core properties."""
    found: Dict[str, str] = {}
    current: List[str] = []
    stack: List[str] = []

    def start(tag: str, attrs: Dict[str, str]) -> None:
        stack.append(local(tag))
        current.clear()

    def end(tag: str) -> None:
        name_ = stack.pop()
        if name_ in wanted and name_ not in found and "".join(current).strip():
            found[name_] = "".join(current).strip()
        current.clear()

    if z.has(name):
        parse_xml(z.chunks(name), limits, start, end, current.append)
    return found
