"""Word, Excel and PowerPoint 2007+ (OOXML): zip + XML, read with archive.py's limits.

Document order is kept: the body in order, then headers/footers, footnotes and comments (Word);
the text of charts (titles, series names, category labels, cached values) after the part that
shows them;
sheets in workbook order with their names, cell values (the cached result, never the formula);
slides in presentation order, each followed by its speaker notes. Pages, sheets and slides are
separated by a form feed.
"""
from __future__ import annotations

import datetime
import posixpath
import re
from typing import Dict, List, Optional

from . import CORRUPT, ENCRYPTED, OK, TRUNCATED, Extraction, ExtractionError, Limits
from .archive import SafeZip, local, ns_attr, parse_xml, simple_fields
from .sink import TextSink

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _open(path: str, limits: Limits) -> SafeZip:
    with open(path, "rb") as f:
        if f.read(8) == _OLE_MAGIC:
            # Office wraps a password-protected OOXML file in an OLE container.
            raise ExtractionError(ENCRYPTED, "password-protected Office document")
    return SafeZip(path, limits)


def core_properties(z: SafeZip, limits: Limits, out: Extraction) -> None:
    props = simple_fields(z, "docProps/core.xml", limits,
                          ("title", "creator", "lastModifiedBy", "created", "modified"))
    out.title = props.get("title")
    out.author = props.get("creator") or props.get("lastModifiedBy")
    out.created = props.get("created")
    out.modified = props.get("modified")


def _rels(z: SafeZip, part: str, limits: Limits) -> Dict[str, str]:
    """Relationship id -> target part path for `part`."""
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", name + ".rels")
    targets: Dict[str, str] = {}

    def start(tag: str, attrs: Dict[str, str]) -> None:
        if local(tag) == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join(folder, target))
            targets[attrs.get("Id", "")] = path

    if z.has(rels_name):
        parse_xml(z.chunks(rels_name), limits, start, lambda t: None, lambda s: None)
    return targets


class _ParagraphText:
    """Text of a WordprocessingML/DrawingML part: paragraphs on lines, table cells by tabs."""

    def __init__(self, sink: TextSink) -> None:
        self.sink = sink
        self.keep = 0  # inside a text element (w:t, a:t)
        self.skip = 0  # inside deleted text or a field code
        self.cells = 0  # inside a table cell: its paragraphs join with spaces

    def start(self, tag: str, attrs: Dict[str, str]) -> None:
        name = local(tag)
        if name == "t":
            self.keep += 1
        elif name in ("delText", "instrText"):
            self.skip += 1
        elif name == "tc":
            self.cells += 1
        elif name == "tab":
            self.sink.add("\t")
        elif name in ("br", "cr"):
            self.sink.add("\n")

    def end(self, tag: str) -> None:
        name = local(tag)
        if name == "t":
            self.keep -= 1
        elif name in ("delText", "instrText"):
            self.skip -= 1
        elif name == "p":
            self.sink.add(" " if self.cells else "\n")
        elif name == "tc":
            self.cells -= 1
            self.sink.add("\t")
        elif name == "tr":
            self.sink.add("\n")

    def text(self, data: str) -> None:
        if self.keep and not self.skip:
            self.sink.add(data)

    def feed(self, z: SafeZip, part: str, limits: Limits) -> None:
        parse_xml(z.chunks(part), limits, self.start, self.end, self.text)


def _finish(out: Extraction, sink: TextSink) -> Extraction:
    out.content = re.sub(r"\n{3,}", "\n\n", sink.text()).strip()
    # Counted before whitespace cleanup when truncated (the rest was never stored).
    out.content_length = sink.length if sink.truncated else len(out.content)
    out.truncated = sink.truncated
    out.status = TRUNCATED if sink.truncated else OK
    return out


def _numbered(names: List[str], pattern: str) -> List[str]:
    # Part names are case-insensitive (OPC); some writers store xl/SharedStrings.xml.
    found = [n for n in names if re.fullmatch(pattern, n, re.IGNORECASE)]
    return sorted(found, key=lambda n: int(re.sub(r"\D", "", posixpath.basename(n)) or 0))


def extract_docx(path: str, limits: Limits) -> Extraction:
    z = _open(path, limits)
    try:
        out = Extraction(status=OK)
        core_properties(z, limits, out)
        pages = simple_fields(z, "docProps/app.xml", limits, ("Pages",)).get("Pages")
        out.page_count = int(pages) if pages and pages.isdigit() else None
        sink = TextSink(limits.max_chars)
        reader = _ParagraphText(sink)
        main = _rels(z, "_rels/.rels", limits)
        doc = next((t for t in main.values() if t.endswith("document.xml")),
                   "word/document.xml")
        if not z.has(doc):
            raise ExtractionError(CORRUPT, "no word/document.xml: not a Word document")
        reader.feed(z, doc, limits)
        _charts(z, doc, limits, sink)
        names = z.names()
        for pattern in (r"word/header\d*\.xml", r"word/footer\d*\.xml", r"word/footnotes\.xml",
                        r"word/endnotes\.xml", r"word/comments\.xml"):
            for part in _numbered(names, pattern):
                sink.add("\n")
                reader.feed(z, part, limits)
        return _finish(out, sink)
    finally:
        z.close()


def _shared_strings(z: SafeZip, limits: Limits) -> List[str]:
    strings: List[str] = []
    current: List[str] = []
    state = {"t": 0, "rph": 0}

    def start(tag: str, attrs: Dict[str, str]) -> None:
        name = local(tag)
        if name == "si":
            current.clear()
        elif name == "t":
            state["t"] += 1
        elif name == "rPh":  # phonetic reading (furigana): not part of the cell's text
            state["rph"] += 1

    def end(tag: str) -> None:
        name = local(tag)
        if name == "si":
            strings.append("".join(current))
        elif name == "t":
            state["t"] -= 1
        elif name == "rPh":
            state["rph"] -= 1

    def text(data: str) -> None:
        if state["t"] and not state["rph"]:
            current.append(data)

    for part in _numbered(z.names(), r"xl/sharedStrings\d*\.xml"):
        parse_xml(z.chunks(part), limits, start, end, text)
    return strings


def _number(value: str) -> str:
    """Cell numbers as Excel shows them by default: 3 not 3.0, and 15 significant digits, the
    precision Excel keeps (3.90000000000001, not the binary float's 3.9000000000000057)."""
    try:
        f = float(value)
    except ValueError:
        return value
    return str(int(f)) if f.is_integer() and abs(f) < 1e15 else "%.15g" % f


# Built-in number formats that show a date or a time (ECMA-376 Part 1, 18.8.30), with the
# codes whose parts (date, time, 12-hour clock) decide how date_text shows the cell.
_BUILTIN_DATES = {14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy",
                  18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss",
                  22: "m/d/yy h:mm", 45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0"}


def _bare_format(code: str) -> str:
    """A number format's first section without quoted text, escapes and [colour]/[condition]
    sections: what remains are its date, time and number codes."""
    bare = re.sub(r'"[^"]*"|\\.|_.|\*.|\[(?![hms]+\])[^\]]*\]', "", code).lower()
    return bare.split(";")[0]


def _is_date_format(code: str) -> bool:
    """Whether a custom number format shows a date or time: y, d, h or s outside quoted text,
    escapes and [colour]/[condition] sections (m alone is minutes or months: both are dates)."""
    bare = _bare_format(code)
    return bool(re.search(r"[ydhs]", bare)) or ("m" in bare and "0" not in bare
                                                and "#" not in bare)


def _date_styles(z: SafeZip, limits: Limits) -> Dict[int, str]:
    """Index -> number format code of the cell formats (styles.xml cellXfs) that show a date or
    time."""
    part = next(iter(_numbered(z.names(), r"xl/styles\.xml")), None)
    if part is None:
        return {}
    custom: Dict[int, str] = {}
    xfs: List[int] = []
    state = {"cellXfs": 0}

    def start(tag: str, attrs: Dict[str, str]) -> None:
        name = local(tag)
        if name == "numFmt":
            try:
                custom[int(attrs.get("numFmtId", ""))] = attrs.get("formatCode", "")
            except ValueError:
                pass
        elif name == "cellXfs":
            state["cellXfs"] += 1
        elif name == "xf" and state["cellXfs"]:
            try:
                xfs.append(int(attrs.get("numFmtId", "0")))
            except ValueError:
                xfs.append(0)

    def end(tag: str) -> None:
        if local(tag) == "cellXfs":
            state["cellXfs"] -= 1

    parse_xml(z.chunks(part), limits, start, end, lambda s: None)
    return {i: custom[fmt] if fmt in custom else _BUILTIN_DATES[fmt] for i, fmt in enumerate(xfs)
            if (fmt in custom and _is_date_format(custom[fmt]))
            or (fmt not in custom and fmt in _BUILTIN_DATES)}


def date_text(value: datetime.datetime, time_only: bool, code: str = "") -> str:
    """A date cell as people search for it: 2014-12-25, 11:11:11 or 2014-12-25 11:11:11.
    `time_only`: the serial is below 1, a time of day. `code`, the cell's number format when
    known, says which parts the file shows: a date format shows serial 0 as 1899-12-30, not as
    a time, and AM/PM shows the 12-hour clock (01:13:13 PM, the words a reader sees)."""
    bare = _bare_format(code)
    has_date = bool(re.search(r"[yd]", bare))
    has_time = bool(re.search(r"[hs]", bare))
    if has_date or has_time:
        parts = [value.strftime("%Y-%m-%d")] if has_date else []
        if has_time and re.search(r"am/pm|a/p", bare):  # by hand: %p follows the locale
            parts.append(f"{(value.hour + 11) % 12 + 1:02d}:{value:%M:%S} "
                         + ("PM" if value.hour >= 12 else "AM"))
        elif has_time:
            parts.append(value.strftime("%H:%M:%S"))
        return " ".join(parts)
    if time_only:
        return value.strftime("%H:%M:%S")
    if value.time() == datetime.time(0):
        return value.strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _serial_date(raw: str, date1904: bool, code: str = "") -> Optional[str]:
    try:
        serial = float(raw)
        base = datetime.datetime(1904, 1, 1) if date1904 else datetime.datetime(1899, 12, 30)
        # Whole seconds, as Excel shows them.
        return date_text(base + datetime.timedelta(seconds=round(serial * 86400)),
                         time_only=0 <= serial < 1, code=code)
    except (ValueError, OverflowError):
        return None


def _sheet(z: SafeZip, part: str, limits: Limits, strings: List[str], sink: TextSink,
           dates: Optional[Dict[int, str]] = None, date1904: bool = False) -> None:
    cell: Dict[str, Optional[str]] = {"type": None, "style": None}
    value: List[str] = []
    state = {"v": 0, "is_t": 0, "row_has": False}

    def start(tag: str, attrs: Dict[str, str]) -> None:
        name = local(tag)
        if name == "c":
            cell["type"] = attrs.get("t")
            cell["style"] = attrs.get("s")
            value.clear()
        elif name == "v":
            state["v"] += 1
        elif name == "t" and cell["type"] == "inlineStr":
            state["is_t"] += 1

    def end(tag: str) -> None:
        name = local(tag)
        if name == "v":
            state["v"] -= 1
        elif name == "t" and state["is_t"]:
            state["is_t"] -= 1
        elif name == "c":
            raw = "".join(value)
            kind = cell["type"]
            if kind == "s":
                try:
                    raw = strings[int(raw)]
                except (ValueError, IndexError):
                    raw = ""
            elif kind == "b":
                raw = "TRUE" if raw == "1" else "FALSE"
            elif kind == "d":  # ISO 8601 date cell (strict OOXML)
                raw = raw.replace("T", " ")
            elif kind in (None, "n") and raw:
                style = cell["style"]
                code = (dates or {}).get(int(style)) if style and style.isdigit() else None
                date = _serial_date(raw, date1904, code) if code is not None else None
                raw = date or _number(raw)
            if raw:
                sink.add(("\t" if state["row_has"] else "") + raw)
                state["row_has"] = True
        elif name == "row":
            if state["row_has"]:
                sink.add("\n")
            state["row_has"] = False

    def text(data: str) -> None:
        if state["v"] or state["is_t"]:
            value.append(data)

    parse_xml(z.chunks(part), limits, start, end, text)


def extract_xlsx(path: str, limits: Limits) -> Extraction:
    z = _open(path, limits)
    try:
        out = Extraction(status=OK)
        core_properties(z, limits, out)
        if not z.has("xl/workbook.xml"):
            raise ExtractionError(CORRUPT, "no xl/workbook.xml: not an Excel workbook")
        sheets: List[tuple] = []
        book = {"date1904": False}

        def start(tag: str, attrs: Dict[str, str]) -> None:
            if local(tag) == "sheet":
                sheets.append((attrs.get("name", ""), attrs.get(_R_ID) or ns_attr(attrs, "id")))
            elif local(tag) == "workbookPr":
                book["date1904"] = attrs.get("date1904", "").lower() in ("1", "true")

        parse_xml(z.chunks("xl/workbook.xml"), limits, start, lambda t: None, lambda s: None)
        rels = _rels(z, "xl/workbook.xml", limits)
        strings = _shared_strings(z, limits)
        dates = _date_styles(z, limits)
        sink = TextSink(limits.max_chars)
        out.page_count = len(sheets)
        for i, (name, rid) in enumerate(sheets):
            part = rels.get(rid or "")
            if i:
                sink.add("\f")
            sink.add(name + "\n")
            if part and z.has(part):
                _sheet(z, part, limits, strings, sink, dates, book["date1904"])
                for drawing in _rels(z, part, limits).values():
                    if "/drawings/" in drawing and z.has(drawing):
                        _charts(z, drawing, limits, sink)
        return _finish(out, sink)
    finally:
        z.close()


def _charts(z: SafeZip, part: str, limits: Limits, sink: TextSink) -> None:
    """Text of the charts a part shows (DrawingML charts: title, series names, category
    labels at every level, and the plotted values as the file caches them), one item a line."""
    for target in _rels(z, part, limits).values():
        if re.fullmatch(r".*/charts/chart\d*\.xml", target, re.IGNORECASE) and z.has(target):
            sink.add("\n")
            _chart(z, target, limits, sink)


# The values a chart shows, cached in the chart part by its writer (the workbook that feeds
# it may be embedded or external): labels, multi-level category labels (a row per level), and
# the plotted numbers (what data labels and the data table show; a reader searches them).
_CHART_CACHES = ("strCache", "strLit", "multiLvlStrCache", "multiLvlStrLit", "numCache",
                 "numLit")


def _chart(z: SafeZip, part: str, limits: Limits, sink: TextSink) -> None:
    state = {"t": 0, "str": 0, "v": 0}

    def start(tag: str, attrs: Dict[str, str]) -> None:
        name = local(tag)
        if name == "t":
            state["t"] += 1
        elif name in _CHART_CACHES:
            state["str"] += 1
        elif name == "v":
            state["v"] += 1

    def end(tag: str) -> None:
        name = local(tag)
        if name == "t":
            state["t"] -= 1
            sink.add("\n")
        elif name in _CHART_CACHES:
            state["str"] -= 1
        elif name == "v":
            state["v"] -= 1
            if state["str"]:
                sink.add("\n")

    def text(data: str) -> None:
        if state["t"] or (state["v"] and state["str"]):
            sink.add(data)

    parse_xml(z.chunks(part), limits, start, end, text)


def extract_pptx(path: str, limits: Limits) -> Extraction:
    z = _open(path, limits)
    try:
        out = Extraction(status=OK)
        core_properties(z, limits, out)
        if not z.has("ppt/presentation.xml"):
            raise ExtractionError(CORRUPT, "no ppt/presentation.xml: not a presentation")
        order: List[str] = []

        def start(tag: str, attrs: Dict[str, str]) -> None:
            if local(tag) == "sldId":
                order.append(attrs.get(_R_ID) or ns_attr(attrs, "id") or "")

        parse_xml(z.chunks("ppt/presentation.xml"), limits, start, lambda t: None,
                  lambda s: None)
        rels = _rels(z, "ppt/presentation.xml", limits)
        slides = [rels[r] for r in order if r in rels and z.has(rels[r])]
        sink = TextSink(limits.max_chars)
        reader = _ParagraphText(sink)
        out.page_count = len(slides)
        for i, slide in enumerate(slides):
            if i:
                sink.add("\f")
            reader.feed(z, slide, limits)
            _charts(z, slide, limits, sink)
            for target in _rels(z, slide, limits).values():
                if "notesSlide" in target and z.has(target):
                    sink.add("\n")
                    reader.feed(z, target, limits)
        return _finish(out, sink)
    finally:
        z.close()
