"""The file name and folder of an object key, as the index's `name` and `folder` fields.

The index analyzes them (search_index/file_index.json): `name` for words and pieces of file
names, `folder` with a path_hierarchy sub-field so that a filter on a folder finds everything
below it. Computed here rather than by an ingest pipeline so that `_reindex` and the local fake
need nothing but the document.
"""
from __future__ import annotations

import posixpath
from typing import Dict


def path_fields(key: str) -> Dict[str, str]:
    """{"name": "請求書.pdf", "folder": "raw-files/経理/2024"} for raw-files/経理/2024/請求書.pdf."""
    folder, name = posixpath.split(key)
    return {"name": name, "folder": folder}
