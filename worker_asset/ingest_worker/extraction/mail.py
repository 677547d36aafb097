"""E-mail (.eml, RFC 5322 / MIME) with the standard library: subject, sender and date as
metadata; the text parts (HTML as text); attachments of supported kinds extracted as well."""
from __future__ import annotations

import email
import email.errors
import email.header
import email.policy
import email.utils
import os
import tempfile
from typing import Callable, Optional

from . import OK, Extraction, Limits, kind_of
from .ooxml import _finish
from .plain import extract_text_file, html_to_text
from .sink import TextSink
from .textenc import decode

Extractor = Callable[[str, str, Limits, int], Extraction]


def _part_text(part: email.message.Message) -> Optional[str]:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None
    charset = part.get_content_charset()
    text = None
    if charset:
        try:
            text = payload.decode({"shift_jis": "cp932", "euc-kr": "cp949", "gb2312": "gb18030",
                                   "ks_c_5601-1987": "cp949"}.get(charset, charset))
        except (LookupError, UnicodeDecodeError):
            text = None  # a wrong declaration is common: detect instead
    if text is None:
        text = decode(payload)[0]
    if part.get_content_type() == "text/html":
        text = html_to_text(text)[0]
    return text


def _header_text(msg: email.message.Message, name: str) -> str:
    """The header as written, encoded words decoded. The parsed address header drops RFC 5322
    comments, and `addr (Display Name)` is how older mailers write the name people search for."""
    values = []
    for key, raw in msg.raw_items():
        if key.lower() != name.lower():
            continue
        try:
            text = str(email.header.make_header(email.header.decode_header(str(raw))))
        except (email.errors.HeaderParseError, LookupError, UnicodeError, ValueError):
            text = str(msg.get(name))  # undecodable encoded word: the parser's reading
        values.append(" ".join(text.split()))  # unfolded
    return ", ".join(values)


def extract_email(path: str, limits: Limits, extract_nested: Extractor, depth: int) -> Extraction:
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    if not msg.keys():
        # Saved as .eml without its headers (a digest body, a pasted message): still text
        # people search for, so index it as a text file rather than call it corrupt.
        return extract_text_file(path, limits.max_chars, markup=False, is_json=False)
    out = Extraction(status=OK)
    try:
        out.title = str(msg.get("subject") or "").strip() or None
        out.author = str(msg.get("from") or "").strip() or None
        date = msg.get("date")
        if date:
            parsed = email.utils.parsedate_to_datetime(str(date))
            out.created = parsed.isoformat() if parsed else None
    except (ValueError, TypeError, IndexError):
        pass  # malformed headers lose their metadata, not the text
    sink = TextSink(limits.max_chars)
    header = "\n".join(f"{name}: {_header_text(msg, name)}"
                        for name in ("From", "To", "Cc", "Subject") if msg.get(name))
    sink.add(header + "\n\n")
    has_plain = any(p.get_content_type() == "text/plain" and not p.get_filename()
                    for p in msg.walk())
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        ctype = part.get_content_type()
        if filename:
            kind = kind_of(filename)
            payload = part.get_payload(decode=True)
            if kind is None or depth >= limits.email_max_depth or not isinstance(payload, bytes):
                sink.add(f"\n[attachment: {filename}]\n")
                continue
            suffix = os.path.splitext(filename)[1][:16]
            with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
                tmp.write(payload)
                tmp.flush()
                nested = extract_nested(tmp.name, filename, limits, depth + 1)
            sink.add(f"\n[attachment: {filename}]\n")
            if nested.content:
                sink.add(nested.content + "\n")
            continue
        if ctype == "text/html" and has_plain:
            continue  # the plain alternative says the same
        if ctype.startswith("text/"):
            text = _part_text(part)
            if text:
                sink.add(text + "\n")
    return _finish(out, sink)
