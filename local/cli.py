"""What `python -m local` and `python -m local.demo` share: options, templates, signals."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from local.dev_templates import (
    DEFAULT_ASSEMBLY,
    REPO,
    WORKER_ENV_REPLACED,
    LocalSpec,
    ensure_synthesized,
    read_local_spec,
)
from local.pipeline import LocalPipeline

LOG_DIR = REPO / ".local"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def add_common_arguments(parser: argparse.ArgumentParser, *, aws_port: int, search_port: int,
                         log_dir: Path) -> None:
    parser.add_argument("--assembly", type=Path, default=DEFAULT_ASSEMBLY, metavar="DIR",
                        help="cloud assembly to read the dev templates from (default: cdk.out; "
                             "synthesized with the CDK CLI when it has no dev templates)")
    parser.add_argument("--aws-port", type=int, default=aws_port, metavar="PORT",
                        help=f"loopback port of moto's S3 + SQS server (default {aws_port or 'any free'})")
    parser.add_argument("--search-port", type=int, default=search_port, metavar="PORT",
                        help=f"loopback port of the fake OpenSearch (default {search_port or 'any free'})")
    parser.add_argument("--log-dir", type=Path, default=log_dir, metavar="DIR",
                        help=f"where the worker's log is written (default: {_relative(log_dir)})")
    parser.add_argument("--worker-env", action="append", default=[], metavar="NAME=VALUE",
                        type=_worker_setting,
                        help="override one of the worker's variables taken from the fleet's "
                             "template, e.g. WORKER_LOG_LEVEL=DEBUG (repeatable)")


def _worker_setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.startswith("WORKER_"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected WORKER_NAME=VALUE")
    if name in WORKER_ENV_REPLACED:
        raise argparse.ArgumentTypeError(f"{name} is set by the local pipeline itself")
    return name, value


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(REPO)) + "/"
    except ValueError:
        return str(path)


def load_spec(args: argparse.Namespace) -> LocalSpec:
    ensure_synthesized(args.assembly)
    return read_local_spec(args.assembly)


def pipeline_from(args: argparse.Namespace) -> LocalPipeline:
    """The pipeline the options describe, templates read; it starts when entered (`with`)."""
    return LocalPipeline(load_spec(args), log_dir=args.log_dir, aws_port=args.aws_port,
                         search_port=args.search_port, worker_overrides=dict(args.worker_env))


def on_stop_signals(first: Callable[[str], None], again: Callable[[str], None]) -> threading.Event:
    """Ctrl-C (SIGINT), SIGTERM and SIGHUP: the first calls `first` and sets the returned event,
    any later one calls `again` (e.g. kill the worker instead of waiting for it)."""
    stopping = threading.Event()

    def handle(number: int, _frame: object) -> None:
        name = signal.Signals(number).name
        if stopping.is_set():
            again(name)
        else:
            stopping.set()
            first(name)

    for number in STOP_SIGNALS:
        signal.signal(number, handle)
    return stopping


def say(text: str = "") -> None:
    print(text, flush=True)


def error(text: str) -> None:
    print(f"error: {text}", file=sys.stderr, flush=True)
