"""OpenDocument text, spreadsheet and presentation (ODT, ODS, ODP): content.xml in order, then
the text of the master pages in styles.xml once (headers/footers of a text document, what a
presentation's masters show on every slide: a template's only text is often there), meta.xml
for title, author, dates and page count; the same zip/XML limits as OOXML."""
from __future__ import annotations

import posixpath
from typing import Dict, Optional

from . import CORRUPT, ENCRYPTED, Extraction, ExtractionError, Limits
from .archive import SafeZip, local, ns_attr, parse_xml, simple_fields
from .ooxml import _finish
from .sink import TextSink

# A spreadsheet row or cell "repeated" 1,048,576 times is how ODS stores empty space; text in
# a repeated cell is written at most this often.
_MAX_REPEAT = 100
_BLOCKS = ("p", "h")
_PRESENTATION_CLASS = "{urn:oasis:names:tc:opendocument:xmlns:presentation:1.0}class"


def extract_odf(path: str, limits: Limits) -> Extraction:
    z = SafeZip(path, limits)
    try:
        if not z.has("content.xml"):
            raise ExtractionError(CORRUPT, "no content.xml: not an OpenDocument file")
        if z.has("META-INF/manifest.xml") and b"encryption-data" in z.read("META-INF/manifest.xml"):
            raise ExtractionError(ENCRYPTED, "password-protected OpenDocument file")
        out = Extraction(status="ok")
        meta = simple_fields(z, "meta.xml", limits,
                             ("title", "initial-creator", "creator", "creation-date", "date"))
        out.title = meta.get("title")
        out.author = meta.get("initial-creator") or meta.get("creator")
        out.created = meta.get("creation-date")
        out.modified = meta.get("date")
        counts: Dict[str, int] = {}

        def stats(tag: str, attrs: Dict[str, str]) -> None:
            if local(tag) == "document-statistic":
                for key in ("page-count", "table-count"):
                    value = ns_attr(attrs, key)
                    if value and value.isdigit():
                        counts[key] = int(value)

        if z.has("meta.xml"):
            parse_xml(z.chunks("meta.xml"), limits, stats, lambda t: None, lambda s: None)
        sink = TextSink(limits.max_chars)
        state = _content(z, "content.xml", limits, sink, depth=0)
        if z.has("styles.xml"):
            sink.add("\n")
            _master_pages(z, limits, sink)
        out.page_count = state["pages"] or counts.get("page-count") or (
            state["tables"] or None)
        return _finish(out, sink)
    finally:
        z.close()


def _master_pages(z: SafeZip, limits: Limits, sink: TextSink) -> None:
    """Text in styles.xml's master pages, once per document (not per slide or page). Skipped:
    placeholders (presentation:class: "Click to add a title", date, footer and page-number
    fields, shown filled from each slide), the notes and handout masters, and styles."""
    state = {"master": 0, "skip": 0, "block": 0}

    def start(tag: str, attrs: Dict[str, str]) -> None:
        name = local(tag)
        if name == "master-page":
            state["master"] += 1
        elif not state["master"]:
            return
        elif state["skip"] or name == "notes" or _PRESENTATION_CLASS in attrs:
            state["skip"] += 1
        elif name in _BLOCKS:
            state["block"] += 1
        elif name == "tab" and state["block"]:
            sink.add("\t")
        elif name == "line-break" and state["block"]:
            sink.add("\n")

    def end(tag: str) -> None:
        name = local(tag)
        if name == "master-page":
            state["master"] -= 1
        elif not state["master"]:
            return
        elif state["skip"]:
            state["skip"] -= 1
        elif name in _BLOCKS:
            state["block"] -= 1
            sink.add("\n")

    def text(data: str) -> None:
        if state["master"] and state["block"] and not state["skip"]:
            sink.add(data)

    parse_xml(z.chunks("styles.xml"), limits, start, end, text)


# Embedded objects (draw:object: a spreadsheet or chart inside a text or presentation, stored
# as "Object N/content.xml") are read in place, this deep at most.
_MAX_OBJECT_DEPTH = 2


def _object_part(z: SafeZip, href: str) -> Optional[str]:
    name = href[2:] if href.startswith("./") else href
    part = posixpath.normpath(posixpath.join(name, "content.xml"))
    # Never the document's own content again (href "./"), nor outside the package.
    ok = part != "content.xml" and not part.startswith("..") and z.has(part)
    return part if ok else None


def _content(z: SafeZip, part: str, limits: Limits, sink: TextSink, depth: int) -> Dict:
    """Text of a content.xml (the document's, or an embedded object's) into `sink`, in order.
    Page (slide) and sheet boundaries are marked only in the document's own content."""
    state = {"in_block": 0, "skip": 0, "pages": 0, "tables": 0, "cell_repeat": 1,
             "cell": None}
    cell_text: list = []

    def emit(text: str) -> None:
        if state["cell"] is not None:
            cell_text.append(text)
        else:
            sink.add(text)

    def start(tag: str, attrs: Dict[str, str]) -> None:
        name = local(tag)
        if name in _BLOCKS:
            state["in_block"] += 1
        elif name == "s" and state["in_block"]:
            emit(" " * min(int(ns_attr(attrs, "c") or 1), 8))
        elif name == "tab":
            emit("\t")
        elif name == "line-break":
            emit("\n")
        elif name in ("tracked-changes", "annotation"):
            state["skip"] += 1
        elif name == "page":  # a presentation slide (draw:page)
            if state["pages"] and not depth:
                sink.add("\f")
            state["pages"] += 1
        elif name == "table" and tag.startswith("{urn:oasis:names:tc:opendocument"
                                                ":xmlns:table"):
            if state["tables"] and not depth:
                sink.add("\f")
            state["tables"] += 1
            if not depth:
                sink.add((ns_attr(attrs, "name") or "") + "\n")
        elif name == "object" and depth < _MAX_OBJECT_DEPTH:
            embedded = _object_part(z, ns_attr(attrs, "href") or "")
            if embedded and state["cell"] is None:
                sink.add("\n")
                _content(z, embedded, limits, sink, depth + 1)
                sink.add("\n")
        elif name == "table-cell":
            state["cell"] = True
            state["cell_repeat"] = min(int(ns_attr(attrs, "number-columns-repeated") or 1),
                                       _MAX_REPEAT)
            cell_text.clear()

    def end(tag: str) -> None:
        name = local(tag)
        if name in _BLOCKS:
            state["in_block"] -= 1
            emit("\n")
        elif name in ("tracked-changes", "annotation"):
            state["skip"] -= 1
        elif name == "table-cell":
            state["cell"] = None
            text = "".join(cell_text).strip()
            if text:
                for _ in range(state["cell_repeat"]):
                    sink.add(text + "\t")
        elif name == "table-row":
            sink.add("\n")

    def text(data: str) -> None:
        if state["in_block"] and not state["skip"]:
            emit(data)

    parse_xml(z.chunks(part), limits, start, end, text)
    return state
