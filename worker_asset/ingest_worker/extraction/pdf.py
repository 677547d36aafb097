"""PDF text with PDFium (pypdfium2, bundled in the asset): pages in order, separated by form
feeds; title, author and dates from the document information dictionary.

Why PDFium: on real PDFs it recovered as many words as pdftotext at several times pypdf's speed
and read Japanese slides that pypdf scrambled (docs/extraction.md has the figures). Its parser
guards reference loops and deep nesting itself; the sandbox's memory and CPU limits bound what
remains (decompression of huge streams, endless content)."""
from __future__ import annotations

import re
from typing import Optional

from . import CORRUPT, ENCRYPTED, NO_TEXT_LAYER, OK, TRUNCATED, Extraction, ExtractionError, Limits
from .sink import TextSink

_ERR_PASSWORD, _ERR_SECURITY = 4, 6
# Form field types (fpdf_formfill.h) whose text a viewer shows: a text field's and a combo
# box's value, every entry of a list box (a list box shows its options).
_FIELD_COMBOBOX, _FIELD_LISTBOX, _FIELD_TEXTFIELD = 4, 5, 6


def _utf16(call, *args) -> str:  # type: ignore[no-untyped-def]
    """A PDFium string getter (byte length with a NUL, filled as UTF-16LE) as text."""
    import ctypes

    size = call(*args, None, 0)
    if size <= 2:
        return ""
    buf = ctypes.create_string_buffer(size)
    call(*args, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort)), size)
    return buf.raw[:size - 2].decode("utf-16-le", "replace")


def _form_text(pdf, page) -> str:  # type: ignore[no-untyped-def]
    """The text of the page's form fields, stored in the file as field values and options but
    not in the page's text layer: a viewer draws it (pdftotext reads it; a filled-in form's
    answers are what a reader searches for)."""
    import pypdfium2.raw as raw

    form = pdf.formenv
    if form is None:
        return ""
    lines = []
    for k in range(raw.FPDFPage_GetAnnotCount(page)):
        annot = raw.FPDFPage_GetAnnot(page, k)
        if not annot:
            continue
        try:
            if raw.FPDFAnnot_GetSubtype(annot) != raw.FPDF_ANNOT_WIDGET:
                continue
            kind = raw.FPDFAnnot_GetFormFieldType(form, annot)
            if kind in (_FIELD_TEXTFIELD, _FIELD_COMBOBOX):
                lines.append(_utf16(raw.FPDFAnnot_GetFormFieldValue, form, annot))
            elif kind == _FIELD_LISTBOX:
                lines.extend(_utf16(raw.FPDFAnnot_GetOptionLabel, form, annot, j)
                             for j in range(max(0, raw.FPDFAnnot_GetOptionCount(form, annot))))
        finally:
            raw.FPDFPage_CloseAnnot(annot)
    return "\n".join(line for line in lines if line.strip())


def _pdf_date(value: Optional[str]) -> Optional[str]:
    """D:YYYYMMDDHHmmSSOHH'mm' -> ISO 8601 (as much of it as the value has)."""
    m = re.match(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+\-])?(\d{2})?'?(\d{2})?",
                 (value or "").strip())
    if not m:
        return None
    y, mo, d, h, mi, s, sign, tzh, tzm = m.groups()
    out = f"{y}-{mo or '01'}-{d or '01'}"
    if h:
        out += f"T{h}:{mi or '00'}:{s or '00'}"
        if sign in ("Z", "z"):
            out += "Z"
        elif sign and tzh:
            out += f"{sign}{tzh}:{tzm or '00'}"
    return out


def extract_pdf(path: str, limits: Limits) -> Extraction:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code in (_ERR_PASSWORD, _ERR_SECURITY):
            raise ExtractionError(ENCRYPTED, "password-protected PDF") from None
        raise ExtractionError(CORRUPT, f"PDFium cannot open it: {exc}") from None
    try:
        try:
            pdf.init_forms()  # before any page is loaded: gives the field values (_form_text)
        except pdfium.PdfiumError:  # a broken form costs its fields, not the page text
            pass
        out = Extraction(status=OK)
        try:
            meta = pdf.get_metadata_dict(skip_empty=True)
        except Exception:  # broken info dictionary: text is still worth reading
            meta = {}
        out.title = (meta.get("Title") or "").strip() or None
        out.author = (meta.get("Author") or "").strip() or None
        out.created = _pdf_date(meta.get("CreationDate"))
        out.modified = _pdf_date(meta.get("ModDate"))
        pages = len(pdf)
        out.page_count = pages
        sink = TextSink(limits.max_chars)
        broken = []
        for i in range(pages):
            if i:
                sink.add("\f")
            try:
                page = pdf[i]
            except pdfium.PdfiumError:
                broken.append(i + 1)  # a broken page costs that page, not the document
                continue
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_range()
                finally:
                    textpage.close()
                fields = _form_text(pdf, page)
                if fields:
                    text += "\n" + fields
            finally:
                page.close()
            sink.add(text.replace("\r\n", "\n").replace("\r", "\n"))
        if broken and len(broken) == pages:
            raise ExtractionError(CORRUPT, "no page can be read")
        content = sink.text()
        out.content = content.strip()
        out.content_length = sink.length if sink.truncated else len(out.content)
        out.truncated = sink.truncated
        if pages and not content.replace("\f", "").strip():
            out.status = NO_TEXT_LAYER
            out.error = f"{pages} page(s) without a text layer (scanned?); OCR is not done"
            out.content = None
        else:
            out.status = TRUNCATED if sink.truncated else OK
        if broken:
            out.error = (f"page(s) {', '.join(map(str, broken[:20]))} could not be read"
                         + (f"; {out.error}" if out.error else ""))
        return out
    finally:
        pdf.close()
