"""`python -m ops <command> --env dev|staging|prod [--region R] [--profile P]`.

Exit codes: 0 fine; 1 something found (diagnose FAIL, drift, a failed move or delete);
2 could not run (bad argument, missing stack or output, refused, not confirmed, AWS error),
always with a one-line `error: ...` and never a traceback.

A command is one `add_parser` in `parser()` plus one handler in `HANDLERS`.
"""

from __future__ import annotations

import argparse
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from contract import ContractError
from contract import declared as declared_state
from contract.outputs import SEARCH_ENDPOINT, SEARCH_INDEX
from contract.synth import REPO
from ops import cross_stack
from ops import diagnose as diagnosis
from ops import drift as drift_module
from ops.alarm_check import check_alarm_delivery
from ops.aws import Aws, Deployed, OpsError, deployed
from ops.console import Console
from ops.fleet import pause, resume
from ops.gate import Gate, drift_report
from ops.index import Indices
from ops.index import search as search_files
from ops.live import queue_name_of, read_live
from ops.purge import purge, replay
from ops.reconcile import reconcile
from ops.redrive import redrive
from ops.reextract import Selection, current_version, parse_statuses
from ops.search import Search
from ops.teardown import wait_for_lambda_enis

ENVIRONMENTS = ("dev", "staging", "prod")
DEFAULT_ASSEMBLY = REPO / "cdk.out"
DEFAULT_ARCHIVE = Path("ops-archive")


class UsageError(OpsError):
    """A bad argument: one line naming it, exit 2 (argparse would print usage and more)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def bounded(low: int, high: int | None = None, *, why: str = ""):
    """An int argument type that names its limits (argparse names the argument)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            limits = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range: must be {limits}{why}")
        return value
    return parse


def http_url(text: str) -> str:
    """An http(s)://host[:port] argument: anything else fails later inside request signing."""
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s)://host URL")
    return text.strip()


def reason_text(text: str) -> str:
    if not text.strip() or len(text.strip()) < 3:
        raise argparse.ArgumentTypeError("give the reason for overriding in words (it is "
                                         "printed with the plan)")
    return text.strip()


def parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument("--env", required=True, choices=ENVIRONMENTS,
                        help="environment: its stacks are file-search-<env>-*")
    common.add_argument("--region", help="AWS region (as in the AWS CLI; default from the "
                        "profile or AWS_REGION)")
    common.add_argument("--profile", help="AWS named profile (as in the AWS CLI)")
    common.add_argument("--endpoint-url", type=http_url, help="send every AWS call to this endpoint "
                        "(a local emulator such as moto); as in the AWS CLI")
    templates = Parser(add_help=False)
    templates.add_argument("--assembly", type=Path, default=DEFAULT_ASSEMBLY,
                           help="synthesized cloud assembly with the declared templates "
                           "(default: cdk.out, synthesized there if missing)")
    confirm = Parser(add_help=False)
    confirm.add_argument("--yes", action="store_true",
                         help="do not ask for confirmation (needed without a terminal)")
    force = Parser(add_help=False)
    force.add_argument("--force", type=reason_text, metavar="WHY",
                       help="send even though drift affects delivery or processing; WHY is "
                       "printed with the plan")
    archive = Parser(add_help=False)
    archive.add_argument("--archive-dir", type=Path, default=DEFAULT_ARCHIVE, metavar="DIR",
                         help="where archives are written (default: ops-archive); checked "
                         "writable before anything changes")

    top = Parser(prog="python -m ops", description="Operations for the file-search ingestion "
                 "pipeline. Runbook: docs/runbook.md")
    commands = top.add_subparsers(dest="command", required=True, parser_class=Parser)

    c = commands.add_parser("diagnose", parents=[common, templates],
                            help="check the live environment; exit 1 on any FAIL")
    c.add_argument("--json", action="store_true", help="print the checks as JSON")
    c.add_argument("--window", type=bounded(1, 1440), default=15, metavar="MINUTES",
                   help="compare with this many minutes ago; count log events in it (1-1440; 15)")
    c.add_argument("--sample", type=bounded(0), default=500, metavar="N",
                   help="read at most N DLQ messages for the reason count (0: none; 500)")

    commands.add_parser("drift", parents=[common, templates], help="live notification paths "
                        "and queue attributes vs the templates; exit 1 on drift")

    c = commands.add_parser("pause", parents=[common, confirm, archive],
                            help="stop the workers without losing messages")
    c.add_argument("--stop-notifications", action="store_true",
                   help="also stop every path from the bucket into the queue: queue "
                   "configurations, EventBridge on the bucket (saved to --archive-dir first), "
                   "rules and pipes targeting the queue")
    commands.add_parser("resume", parents=[common, templates, confirm],
                        help="undo `pause` exactly")

    c = commands.add_parser("redrive", parents=[common, templates, confirm, force],
                            help="move DLQ messages back to the main queue (by default only "
                            "reasons that can succeed)")
    c.add_argument("--rate", type=bounded(1, 500, why=" (SQS moves at most 500 messages/s)"),
                   default=50, help="messages per second (1-500; 50)")
    which = c.add_mutually_exclusive_group()
    which.add_argument("--reason", action="append", metavar="R",
                       help="move only messages with this reason (repeatable); names in "
                       "docs/runbook.md#dlq-reasons")
    which.add_argument("--all", action="store_true",
                       help="move every message, poison too (SQS's server-side move task)")
    c.add_argument("--dry-run", action="store_true",
                   help="count by reason what would move; never refused, moves nothing")
    c.add_argument("--sample", type=bounded(1), default=500, metavar="N",
                   help="read at most N DLQ messages for the reason summary (500)")

    c = commands.add_parser("purge", parents=[common, confirm, archive],
                            help="archive every message of a queue to JSONL, then delete it")
    c.add_argument("--queue", required=True, choices=("main", "dlq"),
                   help="which queue to empty (pause the fleet first for main)")
    c.add_argument("--confirm-env", help="must be `prod` to purge in prod")

    c = commands.add_parser("replay", parents=[common, templates, confirm, force],
                            help="send an archive written by purge back to its queue")
    c.add_argument("file", type=Path, metavar="ARCHIVE",
                   help="a .jsonl archive written by `ops purge`; sent ids are recorded "
                   "next to it in ARCHIVE.sent")
    c.add_argument("--queue", choices=("main", "dlq"), help="default: the archived queue")
    c.add_argument("--resume", action="store_true",
                   help="send only what ARCHIVE.sent does not list (after a partial replay)")

    c = commands.add_parser("reconcile", parents=[common, templates, confirm, force],
                            help="bucket vs index: missing, stale and orphaned documents")
    c.add_argument("--apply", action="store_true",
                   help="enqueue missing/stale objects and delete orphaned documents")
    c.add_argument("--max-deletes", type=bounded(0), default=100, metavar="N",
                   help="with --apply: refuse if more than N documents would be deleted (100)")
    c.add_argument("--search-endpoint", type=http_url, help="override the domain endpoint from the outputs")
    c.add_argument("--page-size", type=bounded(1, 1000), default=1000,
                   help="objects and documents read per request (1-1000; 1000)")
    c.add_argument("--reextract", action="store_true",
                   help="also select unchanged objects whose document an older extractor read "
                   "(docs/extraction.md)")
    c.add_argument("--extraction", metavar="STATUS[,STATUS]",
                   help="with --reextract: only documents with these extraction statuses "
                   "(e.g. unsupported,failed,corrupt)")
    c.add_argument("--extractor-version", metavar="V",
                   help="with --reextract: the deployed extractor version (default: this "
                   "checkout's EXTRACTOR_VERSION)")
    c.add_argument("--rate", type=float, default=10.0, metavar="N",
                   help="with --apply: enqueue at most N messages per second (10)")
    c.add_argument("--max-backlog", type=bounded(0), default=100, metavar="N",
                   help="with --apply: enqueue nothing while the main queue holds N messages "
                   "or more (100; 0 = do not check)")
    c.add_argument("--no-sign", action="store_true", help=argparse.SUPPRESS)  # local fake only
    domain = Parser(add_help=False)
    domain.add_argument("--search-endpoint", type=http_url,
                        help="override the domain endpoint from the outputs")
    domain.add_argument("--no-sign", action="store_true", help=argparse.SUPPRESS)  # local fake
    c = commands.add_parser("index", help="the file index's versions and aliases "
                            "(docs/search.md)")
    index = c.add_subparsers(dest="index_command", required=True, parser_class=Parser,
                             metavar="{status,init,migrate,rollback,purge-tombstones}")
    index.add_parser("status", parents=[common, domain], help="versions, aliases, document "
                     "counts, mapping version live vs repository; exit 1 on a fault")
    index.add_parser("init", parents=[common, domain, confirm], help="put the template; "
                     "create v1 and the aliases, or repair a missing alias (idempotent)")
    settle = Parser(add_help=False)
    settle.add_argument("--settle", type=bounded(0, 600), default=30, metavar="SECONDS",
                        help="wait after moving the write alias, for writes already sent "
                        "(0-600; 30, the worker's request timeout)")
    index.add_parser("migrate", parents=[common, domain, confirm, settle],
                     help="create the next version from the repository's mapping, copy, switch "
                     "the aliases; uploads keep flowing")
    index.add_parser("rollback", parents=[common, domain, confirm, settle],
                     help="aliases back to the previous version, with what was written since")
    purge = index.add_parser("purge-tombstones", parents=[common, domain, confirm],
                             help="delete the tombstones of files removed long ago "
                             "(docs/deletes.md)")
    purge.add_argument("--older-than", type=bounded(1, 3650), metavar="DAYS",
                       help="removed more than DAYS ago (default: the environment's "
                       "search.tombstone_retention_days); must exceed queue + DLQ retention")
    c = commands.add_parser("search", parents=[common, domain],
                            help="the search page's query against the read alias; best hits")
    c.add_argument("words", help="words to find in names, titles and content")
    c.add_argument("--folder", help="only below this folder, e.g. raw-files/経理/2024")
    c.add_argument("--ext", help="only this extension, e.g. pdf")
    c.add_argument("--size", type=bounded(1, 100), default=10, help="hits to print (1-100; 10)")
    commands.add_parser("test-alarm", parents=[common],
                        help="set one alarm per topic to ALARM and back; subscribers must "
                        "hear both (docs/deploy.md)")
    c = commands.add_parser("wait-lambda-enis", parents=[common],
                            help="before deleting the Network stack: wait until Lambda has "
                            "released its network interfaces (docs/deploy.md#roll-back)")
    c.add_argument("--timeout", type=bounded(0, 120), default=45, metavar="MINUTES",
                   help="give up (exit 1) after this long (0-120; 45)")
    c.add_argument("--interval", type=bounded(1, 600), default=30, metavar="SECONDS",
                   help="seconds between checks (1-600; 30)")
    return top


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None,
         stdout: TextIO | None = None) -> int:
    out = stdout or sys.stdout

    def fail(message: str) -> int:
        print(f"error: {message}", file=out, flush=True)
        return 2

    try:
        args = parser().parse_args(argv)
    except UsageError as error:
        return fail(str(error))
    console = Console(env=args.env, assume_yes=getattr(args, "yes", False),
                      stdin=stdin or sys.stdin, out=out)
    try:
        return HANDLERS[args.command](args, console)
    except ContractError as error:  # OpsError, and what the templates or synthesis lack
        return fail(str(error))
    except ResponseParserError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "no detail"
        return fail(f"{args.endpoint_url or 'AWS'} did not answer like an AWS API ({first})")
    except (ClientError, BotoCoreError) as error:
        return fail(f"AWS: {error}")
    except KeyboardInterrupt:
        return fail("interrupted (Ctrl-C) before anything was changed")


def _environment(args: argparse.Namespace) -> tuple[Aws, Deployed]:
    aws = Aws(profile=args.profile, region=args.region, endpoint_url=args.endpoint_url)
    return aws, deployed(aws, args.env)


def _declared(args: argparse.Namespace) -> declared_state.Declared:
    return declared_state.load(args.env, args.assembly)


def _gate(args: argparse.Namespace, aws: Aws, env: Deployed) -> Gate:
    return Gate(aws, env, _declared(args), force=args.force)


def _diagnose(args: argparse.Namespace, console: Console) -> int:
    from environments import ENVIRONMENTS  # the DLQ inflow alarm's values, as the deploy takes them

    aws, env = _environment(args)
    checks = diagnosis.diagnose(aws, env, _declared(args), window=args.window,
                                sample=args.sample, thresholds=ENVIRONMENTS[args.env].alarms)
    console.say(diagnosis.as_json(checks, args.env) if args.json
                else diagnosis.render(checks, args.env))
    return 1 if any(c.status == diagnosis.FAIL for c in checks) else 0


def _drift(args: argparse.Namespace, console: Console) -> int:
    aws, env = _environment(args)
    live = read_live(aws, env)
    found = drift_module.differences(_declared(args), live, queue_name_of(env))
    text, drifted = drift_report(aws, env, args.env, str(args.assembly), found, live.unreadable)
    console.say(text)
    references = cross_stack.check(aws.client("cloudformation"), args.env, ssm=aws.client("ssm"))
    console.say(cross_stack.render(args.env, references))
    drifted = drifted or bool(references.stale)
    return 1 if drifted else (2 if live.unreadable or references.unreadable else 0)


def _pause(args: argparse.Namespace, console: Console) -> int:
    aws, env = _environment(args)
    return pause(aws, env, console, stop_notifications=args.stop_notifications,
                 archive_dir=args.archive_dir)


def _resume(args: argparse.Namespace, console: Console) -> int:
    aws, env = _environment(args)
    return resume(aws, env, console, declared=_declared(args))


def _redrive(args: argparse.Namespace, console: Console) -> int:
    aws, env = _environment(args)
    return redrive(aws, env, console, gate=_gate(args, aws, env), rate=args.rate,
                   reasons=args.reason, move_all=args.all, dry_run=args.dry_run,
                   sample=args.sample)


def _purge(args: argparse.Namespace, console: Console) -> int:
    aws, env = _environment(args)
    return purge(aws, env, console, queue=args.queue, archive_dir=args.archive_dir,
                 confirm_env=args.confirm_env)


def _replay(args: argparse.Namespace, console: Console) -> int:
    aws, env = _environment(args)
    return replay(aws, env, console, path=args.file, queue=args.queue, resume=args.resume,
                  gate=lambda: _gate(args, aws, env))


def _reconcile(args: argparse.Namespace, console: Console) -> int:
    aws, env = _environment(args)
    search = Search(endpoint=args.search_endpoint or env[SEARCH_ENDPOINT],
                    index=env[SEARCH_INDEX], region=aws.region,
                    credentials=None if args.no_sign else aws.credentials(),
                    page_size=args.page_size)
    if not args.rate > 0:
        raise OpsError(f"--rate {args.rate}: must be above 0 messages per second")
    if (args.extraction or args.extractor_version) and not args.reextract:
        raise OpsError("--extraction and --extractor-version select what to re-extract: "
                       "add --reextract")
    selection = None
    if args.reextract:
        selection = Selection(current=args.extractor_version or current_version(),
                              statuses=parse_statuses(args.extraction)
                              if args.extraction else None)
    return reconcile(aws, env, console, search=search, apply=args.apply,
                     max_deletes=args.max_deletes,
                     gate=_gate(args, aws, env) if args.apply else None,
                     selection=selection, rate=args.rate, max_backlog=args.max_backlog)


def _search_client(args: argparse.Namespace) -> tuple[Search, str]:
    aws, env = _environment(args)
    return Search(endpoint=args.search_endpoint or env[SEARCH_ENDPOINT], index=env[SEARCH_INDEX],
                  region=aws.region, credentials=None if args.no_sign else aws.credentials(),
                  timeout=120.0), env[SEARCH_INDEX]


def _index(args: argparse.Namespace, console: Console) -> int:
    from environments import ENVIRONMENTS  # shards and replicas, as the deploy takes them

    client, base = _search_client(args)
    config = ENVIRONMENTS[args.env].search
    indices = Indices(client, base, console, shards=config.index_shards,
                      replicas=config.index_replicas, settle=getattr(args, "settle", 0),
                      user_dictionary_package_id=config.user_dictionary_package_id)
    if args.index_command == "status":
        state = indices.state()
        console.say(indices.render(state))
        return 1 if state.problems() else 0
    if args.index_command == "purge-tombstones":
        environment = ENVIRONMENTS[args.env]
        return indices.purge_tombstones(
            older_than_days=args.older_than or environment.search.tombstone_retention_days,
            late_event_days=environment.queue.late_event_days)
    return {"init": indices.init, "migrate": indices.migrate,
            "rollback": indices.rollback}[args.index_command]()


def _search(args: argparse.Namespace, console: Console) -> int:
    client, base = _search_client(args)
    return search_files(client, base, console, words=args.words, folder=args.folder,
                        extension=args.ext, size=args.size)


def _test_alarm(args: argparse.Namespace, console: Console) -> int:
    aws, env = _environment(args)
    return check_alarm_delivery(aws, env, console)


def _wait_lambda_enis(args: argparse.Namespace, console: Console) -> int:
    aws = Aws(profile=args.profile, region=args.region, endpoint_url=args.endpoint_url)
    return wait_for_lambda_enis(aws, args.env, console, timeout_s=args.timeout * 60,
                                interval_s=args.interval)


HANDLERS: dict[str, Callable[[argparse.Namespace, Console], int]] = {
    "diagnose": _diagnose,
    "drift": _drift,
    "pause": _pause,
    "resume": _resume,
    "redrive": _redrive,
    "purge": _purge,
    "replay": _replay,
    "reconcile": _reconcile,
    "test-alarm": _test_alarm,
    "index": _index,
    "search": _search,
    "wait-lambda-enis": _wait_lambda_enis,
}
