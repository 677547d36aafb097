"""Text and metadata from the files people search: PDF, Office, OpenDocument, RTF, e-mail and
text in any common encoding.

The files are untrusted input, so the parsers run in a pool of sandboxed processes
(sandbox.py); `dispatch.extract_file` is what runs inside one. One module per format family.
Every outcome is an `Extraction` with a status: a file that cannot be read (encrypted, corrupt,
a bomb, a hang) still gets its document, indexed by metadata with the reason.
"""
from __future__ import annotations

import dataclasses
import hashlib
import posixpath
from typing import Any, Dict, Optional

# Raise when an extractor reads any file differently: documents indexed by an older version are
# then not `unchanged` and `extractor_version` selects them for re-extraction.
EXTRACTOR_VERSION = "4"

# The `extraction` statuses (docs/extraction.md says what each means).
OK = "ok"
TRUNCATED = "truncated"
NO_TEXT_LAYER = "no_text_layer"
ENCRYPTED = "encrypted"
CORRUPT = "corrupt"
TOO_LARGE = "too_large"
TIMEOUT = "timeout"
UNSUPPORTED = "unsupported"
FAILED = "failed"
STATUSES = (OK, TRUNCATED, NO_TEXT_LAYER, ENCRYPTED, CORRUPT, TOO_LARGE, TIMEOUT, UNSUPPORTED,
            FAILED)

# Extension -> kind. The kind selects the extractor and the size limit.
KINDS: Dict[str, str] = {
    **dict.fromkeys((".txt", ".text", ".md", ".markdown", ".csv", ".tsv", ".log", ".json",
                     ".ini", ".cfg", ".conf", ".yaml", ".yml", ".sql"), "text"),
    **dict.fromkeys((".html", ".htm", ".xhtml", ".xml"), "markup"),
    ".pdf": "pdf",
    **dict.fromkeys((".docx", ".docm", ".dotx"), "docx"),
    **dict.fromkeys((".xlsx", ".xlsm", ".xltx"), "xlsx"),
    **dict.fromkeys((".pptx", ".pptm", ".ppsx", ".potx"), "pptx"),
    **dict.fromkeys((".odt", ".ods", ".odp", ".ott", ".ots", ".otp"), "odf"),
    ".xls": "xls",
    ".rtf": "rtf",
    ".eml": "email",
    # Legacy binary Word/PowerPoint: no maintained extractor (docs/extraction.md).
    ".doc": "legacy", ".ppt": "legacy", ".msg": "legacy",
}

# Which size limit (WORKER_EXTRACT_MAX_BYTES) a kind falls under.
SIZE_CLASSES = {"text": "text", "markup": "text", "pdf": "pdf", "docx": "office",
                "xlsx": "office", "pptx": "office", "odf": "office", "xls": "office",
                "rtf": "office", "email": "email"}


def extension(key: str) -> str:
    return posixpath.splitext(key)[1].lower()


def kind_of(key: str) -> Optional[str]:
    """The extractor kind for an object key, or None when nothing extracts it."""
    kind = KINDS.get(extension(key))
    return None if kind == "legacy" else kind


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one extraction may use. Sent to the sandboxed process with every job."""
    max_chars: int = 2_000_000          # stored text; the full length is still counted
    zip_max_entries: int = 10_000
    zip_max_bytes: int = 512 << 20      # uncompressed bytes read from one archive
    zip_max_ratio: int = 200            # uncompressed/compressed per entry
    xml_max_depth: int = 512
    email_max_depth: int = 2            # nested attachments extracted


@dataclasses.dataclass
class Extraction:
    """The outcome of extracting one file: its text, metadata and status."""
    status: str
    content: Optional[str] = None
    error: Optional[str] = None
    title: Optional[str] = None
    author: Optional[str] = None
    created: Optional[str] = None       # ISO 8601, from the document itself
    modified: Optional[str] = None
    page_count: Optional[int] = None    # pages, sheets or slides
    language: Optional[str] = None
    encoding: Optional[str] = None      # detected for text, declared for e-mail parts
    truncated: bool = False
    content_length: Optional[int] = None  # characters before truncation

    def fields(self) -> Dict[str, Any]:
        """The document fields this extraction adds (`content` included when there is text)."""
        out: Dict[str, Any] = {
            "extraction": self.status,
            "extractor_version": EXTRACTOR_VERSION,
            "truncated": self.truncated,
        }
        if self.error:
            out["extraction_error"] = self.error[:500]
        if self.content is not None:
            out["content"] = self.content
            out["content_length"] = (self.content_length if self.content_length is not None
                                     else len(self.content))
            out["content_sha256"] = hashlib.sha256(
                self.content.encode("utf-8", "surrogatepass")).hexdigest()
        for name in ("title", "author", "created", "modified", "page_count", "language",
                     "encoding"):
            value = getattr(self, name)
            if value not in (None, ""):
                out[name] = value
        return out


class ExtractionError(Exception):
    """Raised by an extractor: the file cannot be read for a reason with a status."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _vendor_path() -> None:
    """Make the libraries bundled in the asset importable (tools/vendor_wheels.py puts them in
    vendor/<machine>/ beside the ingest_worker package; the instances have no internet).
    Appended, so a development environment's own installs take precedence."""
    import os
    import platform
    import sys

    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "vendor", platform.machine())
    if os.path.isdir(folder) and folder not in sys.path:
        sys.path.append(folder)


_vendor_path()
