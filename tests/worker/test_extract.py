"""extract.py: text extraction."""
from __future__ import annotations

import pytest
from ingest_worker import extract


@pytest.mark.parametrize("key,data,expected", [
    ("a.txt", b"plain \xc3\xa9", "plain \u00e9"),
    ("a.md", b"\xef\xbb\xbf# bom", "# bom"),
    ("a.csv", b"\xe9t\xe9", "\u00e9t\u00e9"),  # not UTF-8: latin-1 fallback
    ("a.json", b'{"k": "\\u00e9"}', '{"k": "\u00e9"}'),
    ("a.json", b"{broken", "{broken"),
    ("a.html", b"<html><script>x()</script><p>Hello &amp; bye</p></html>", "Hello & bye"),
    ("a.XML", b"<r><a>one</a><b>two</b></r>", "one two"),
    ("a.txt", b"bin\x00ary", None),
    ("a.pdf", b"%PDF", None),
])
def test_extract_text(key, data, expected):
    assert extract.extract_text(key, data) == expected
