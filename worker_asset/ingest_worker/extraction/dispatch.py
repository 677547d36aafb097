"""Pick the extractor for a file and turn every way it can fail into a status.

This runs inside a sandboxed process (sandbox.py); `extract_file` never raises for anything a
file can cause."""
from __future__ import annotations

from typing import Callable, Dict

from . import CORRUPT, FAILED, TOO_LARGE, UNSUPPORTED, Extraction, ExtractionError, Limits, extension, kind_of
from .lang import detect_language


def _text(markup: bool) -> Callable[[str, Limits], Extraction]:
    def run(path: str, limits: Limits) -> Extraction:
        from .plain import extract_text_file
        return extract_text_file(path, limits.max_chars, markup, is_json=False)
    return run


def _json(path: str, limits: Limits) -> Extraction:
    from .plain import extract_text_file
    return extract_text_file(path, limits.max_chars, markup=False, is_json=True)


def _lazy(module: str, name: str) -> Callable[[str, Limits], Extraction]:
    """Imported on first use: a process that never sees a PDF never loads PDFium."""
    def run(path: str, limits: Limits) -> Extraction:
        import importlib
        return getattr(importlib.import_module(f"{__package__}.{module}"), name)(path, limits)
    return run


EXTRACTORS: Dict[str, Callable[[str, Limits], Extraction]] = {
    "text": _text(False),
    "markup": _text(True),
    "pdf": _lazy("pdf", "extract_pdf"),
    "docx": _lazy("ooxml", "extract_docx"),
    "xlsx": _lazy("ooxml", "extract_xlsx"),
    "pptx": _lazy("ooxml", "extract_pptx"),
    "odf": _lazy("odf", "extract_odf"),
    "xls": _lazy("legacy", "extract_xls"),
    "rtf": _lazy("legacy", "extract_rtf"),
}


def extract_file(path: str, key: str, limits: Limits, depth: int = 0) -> Extraction:
    kind = kind_of(key)
    if kind is None:
        return Extraction(status=UNSUPPORTED,
                          error=f"no extractor for {extension(key) or 'files without extension'}")
    try:
        if kind == "email":
            from .mail import extract_email
            result = extract_email(path, limits, extract_file, depth)
        elif kind == "text" and extension(key) == ".json":
            result = _json(path, limits)
        else:
            result = EXTRACTORS[kind](path, limits)
    except ExtractionError as exc:
        return Extraction(status=exc.status, error=exc.reason)
    except MemoryError:
        return Extraction(status=TOO_LARGE, error="the extraction's memory limit was reached")
    except RecursionError:
        return Extraction(status=CORRUPT, error="structure nested too deeply")
    except ImportError as exc:
        return Extraction(status=UNSUPPORTED, error=f"extractor not installed: {exc}")
    except Exception as exc:  # a parser's own error on a malformed file: the file's problem
        return Extraction(status=FAILED, error=f"{type(exc).__name__}: {str(exc)[:300]}")
    if result.content and result.language is None:
        result.language = detect_language(result.content)
    return result
