"""Excel 97-2003 (.xls, xlrd) and RTF (striprtf), both bundled in the asset."""
from __future__ import annotations

import io
import re

from . import CORRUPT, ENCRYPTED, OK, Extraction, ExtractionError, Limits
from .ooxml import _finish, _number, date_text
from .sink import TextSink


def extract_xls(path: str, limits: Limits) -> Extraction:
    import xlrd

    try:
        book = xlrd.open_workbook(path, on_demand=True, formatting_info=False,
                                  logfile=io.StringIO())
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise ExtractionError(ENCRYPTED, "password-protected workbook") from None
        raise ExtractionError(CORRUPT, f"xlrd cannot read it: {exc}") from None
    except (AssertionError, IndexError, KeyError, ValueError, EOFError, OSError) as exc:
        # xlrd reports some malformed records with internal errors
        raise ExtractionError(CORRUPT, f"xlrd cannot read it: {type(exc).__name__}: {exc}") \
            from None
    try:
        out = Extraction(status=OK, author=(book.user_name or "").strip() or None,
                         page_count=book.nsheets)
        sink = TextSink(limits.max_chars)
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            if index:
                sink.add("\f")
            sink.add(sheet.name + "\n")
            for r in range(sheet.nrows):
                cells = []
                for cell in sheet.row(r):
                    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                        continue
                    if cell.ctype == xlrd.XL_CELL_NUMBER:
                        value = _number(repr(cell.value))
                    elif cell.ctype == xlrd.XL_CELL_DATE:
                        try:
                            value = date_text(xlrd.xldate.xldate_as_datetime(
                                cell.value, book.datemode), time_only=0 <= cell.value < 1)
                        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                            value = _number(repr(cell.value))
                    elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                        value = "TRUE" if cell.value else "FALSE"
                    elif cell.ctype == xlrd.XL_CELL_ERROR:
                        continue
                    else:
                        value = str(cell.value)
                    if value:
                        cells.append(value)
                if cells:
                    sink.add("\t".join(cells) + "\n")
            book.unload_sheet(index)
        return _finish(out, sink)
    finally:
        book.release_resources()


_ANSICPG = re.compile(rb"\\ansicpg(\d+)")
_RTF_INFO = {"title": re.compile(r"\{\\title\s+([^{}]*)\}"),
             "author": re.compile(r"\{\\author\s+([^{}]*)\}")}


def extract_rtf(path: str, limits: Limits) -> Extraction:
    from striprtf.striprtf import rtf_to_text

    with open(path, "rb") as f:
        data = f.read()
    if not data.lstrip().startswith(b"{\\rtf"):
        raise ExtractionError(CORRUPT, "does not start with {\\rtf: not an RTF file")
    cpg = _ANSICPG.search(data[:4096])
    encoding = f"cp{int(cpg.group(1))}" if cpg else "cp1252"
    try:
        "".encode(encoding)
    except LookupError:
        encoding = "cp1252"
    # RTF itself is 7-bit: \'hh escapes carry the code page's bytes, \uN Unicode.
    source = data.decode("latin-1")
    try:
        text = rtf_to_text(source, encoding=encoding, errors="replace")
    except (ValueError, IndexError, UnicodeError) as exc:
        raise ExtractionError(CORRUPT, f"striprtf cannot read it: {exc}") from None
    out = Extraction(status=OK, encoding=encoding)
    for field, pattern in _RTF_INFO.items():
        m = pattern.search(source[:65536])
        if m and m.group(1).strip() and "\\" not in m.group(1):
            setattr(out, field, m.group(1).strip())
    sink = TextSink(limits.max_chars)
    sink.add(text)
    return _finish(out, sink)

