"""One botocore data loader for every session of a test process.

Every botocore session reads the service models it uses from botocore's JSON files (several
megabytes for EC2) and keeps them only for its own lifetime. A process that starts one session
(the ops CLI, the worker) reads them once; the tests start hundreds in one process (each ops
command, each in-process worker, each moto environment), and reading and parsing those files
was a large share of the ops tests' CPU time. The files are read-only data: sharing the loader
changes what is parsed how often, not what any client does.
"""

from __future__ import annotations

from collections.abc import Callable

import botocore.session
from botocore.loaders import Loader


class _UniquePaths(list):
    """boto3 appends its own data folder to the loader of each session it wraps: with one
    loader for all of them, once is enough (the list would otherwise grow with every session)."""

    def append(self, path) -> None:
        if path not in self:
            super().append(path)


def share_service_models() -> Callable[[], None]:
    """Make every botocore session created from now on use one loader per data path; returns
    the function that undoes it."""
    original = botocore.session.create_loader
    loaders: dict[str | None, Loader] = {}

    def create_loader(search_path_string: str | None = None) -> Loader:
        if search_path_string not in loaders:
            loader = original(search_path_string)
            loader._search_paths = _UniquePaths(loader.search_paths)
            loaders[search_path_string] = loader
        return loaders[search_path_string]

    botocore.session.create_loader = create_loader

    def undo() -> None:
        botocore.session.create_loader = original
    return undo
