"""`python -m ops <command> --env dev|staging|prod [--region R] [--profile P]`.

Exit codes: 0 fine; 1 something found (diagnose FAIL, drift, a failed move or delete);
2 could not run (missing stack or output, refused, not confirmed, AWS error).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from contract import ContractError
from contract import declared as declared_state
from contract.outputs import SEARCH_ENDPOINT, SEARCH_INDEX
from contract.synth import REPO
from ops import diagnose as diagnosis
from ops import drift as drift_module
from ops.alarm_check import check_alarm_delivery
from ops.aws import Aws, OpsError, deployed
from ops.console import Console
from ops.fleet import pause, resume
from ops.live import queue_name_of, read_live
from ops.purge import purge, replay
from ops.reconcile import reconcile
from ops.redrive import redrive
from ops.search import Search

ENVIRONMENTS = ("dev", "staging", "prod")
DEFAULT_ASSEMBLY = REPO / "cdk.out"
DEFAULT_ARCHIVE = Path("ops-archive")


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--env", required=True, choices=ENVIRONMENTS,
                        help="environment: its stacks are file-search-<env>-*")
    common.add_argument("--region", help="AWS region (as in the AWS CLI; default from the "
                        "profile or AWS_REGION)")
    common.add_argument("--profile", help="AWS named profile (as in the AWS CLI)")
    common.add_argument("--endpoint-url", help="send every AWS call to this endpoint "
                        "(a local emulator); as in the AWS CLI")
    common.add_argument("--assembly", type=Path, default=DEFAULT_ASSEMBLY,
                        help="synthesized cloud assembly with the declared templates "
                        "(default: cdk.out, synthesized there if missing)")
    confirm = argparse.ArgumentParser(add_help=False)
    confirm.add_argument("--yes", action="store_true",
                         help="do not ask for confirmation (needed without a terminal)")

    top = argparse.ArgumentParser(
        prog="python -m ops", description="Operations for the file-search ingestion pipeline. "
        "Runbook: docs/runbook.md")
    commands = top.add_subparsers(dest="command", required=True)

    c = commands.add_parser("diagnose", parents=[common], help="check the live environment; "
                            "exit 1 on any FAIL")
    c.add_argument("--json", action="store_true", help="print the checks as JSON")
    c.add_argument("--window", type=int, default=15, metavar="MINUTES",
                   help="compare with this many minutes ago; count log events in it (15)")
    c.add_argument("--sample", type=int, default=500, metavar="N",
                   help="read at most N DLQ messages for the reason count (500)")

    commands.add_parser("drift", parents=[common], help="live notification path and queue "
                        "attributes vs the templates; exit 1 on drift")

    c = commands.add_parser("pause", parents=[common, confirm],
                            help="stop the workers without losing messages")
    c.add_argument("--stop-notifications", action="store_true",
                   help="also remove the bucket's queue configurations (saved to a file first)")
    c.add_argument("--archive-dir", type=Path, default=DEFAULT_ARCHIVE)
    commands.add_parser("resume", parents=[common, confirm], help="undo `pause` exactly")

    c = commands.add_parser("redrive", parents=[common, confirm],
                            help="move DLQ messages back to the main queue")
    c.add_argument("--rate", type=int, default=50, help="messages per second (1-500; 50)")
    c.add_argument("--reason", help="move only messages with this `reason` attribute")
    c.add_argument("--dry-run", action="store_true", help="count only")
    c.add_argument("--sample", type=int, default=500, metavar="N")

    c = commands.add_parser("purge", parents=[common, confirm],
                            help="archive every message of a queue to JSONL, then delete it")
    c.add_argument("--queue", required=True, choices=("main", "dlq"))
    c.add_argument("--archive-dir", type=Path, default=DEFAULT_ARCHIVE)
    c.add_argument("--confirm-env", help="must be `prod` to purge in prod")

    c = commands.add_parser("replay", parents=[common, confirm],
                            help="send an archive written by purge back to its queue")
    c.add_argument("file", type=Path)
    c.add_argument("--queue", choices=("main", "dlq"), help="default: the archived queue")

    c = commands.add_parser("reconcile", parents=[common, confirm],
                            help="bucket vs index: missing, stale and orphaned documents")
    c.add_argument("--apply", action="store_true",
                   help="enqueue missing/stale objects and delete orphaned documents")
    c.add_argument("--search-endpoint", help="override the domain endpoint from the outputs")
    c.add_argument("--page-size", type=int, default=1000,
                   help="objects and documents read per request (1000)")
    c.add_argument("--no-sign", action="store_true", help=argparse.SUPPRESS)  # local fake only
    commands.add_parser("test-alarm", parents=[common],
                        help="set one alarm per topic to ALARM and back; subscribers must "
                        "hear both (docs/deploy.md)")
    return top


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None,
         stdout: TextIO | None = None) -> int:
    args = parser().parse_args(argv)
    out = stdout or sys.stdout
    console = Console(env=args.env, assume_yes=getattr(args, "yes", False),
                      stdin=stdin or sys.stdin, out=out)
    try:
        return run(args, console)
    except ContractError as error:  # OpsError, and what the templates or synthesis lack
        print(f"error: {error}", file=out, flush=True)
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"error: AWS: {error}", file=out, flush=True)
        return 2


def run(args: argparse.Namespace, console: Console) -> int:
    rate = getattr(args, "rate", None)
    if rate is not None and not 1 <= rate <= 500:
        raise OpsError("--rate must be between 1 and 500 (SQS moves at most 500 messages/s)")
    aws = Aws(profile=args.profile, region=args.region, endpoint_url=args.endpoint_url)
    env = deployed(aws, args.env)
    if args.command == "diagnose":
        checks = diagnosis.diagnose(aws, env, declared_state.load(args.env, args.assembly),
                                    window=args.window, sample=args.sample)
        console.say(diagnosis.as_json(checks, args.env) if args.json
                    else diagnosis.render(checks, args.env))
        return 1 if any(c.status == diagnosis.FAIL for c in checks) else 0
    if args.command == "drift":
        declared = declared_state.load(args.env, args.assembly)
        live = read_live(aws, env)
        found = drift_module.differences(declared, live, queue_name_of(env))
        console.say(drift_module.render(args.env, str(args.assembly), found, live.unreadable))
        return 1 if found else (2 if live.unreadable else 0)
    if args.command == "pause":
        return pause(aws, env, console, stop_notifications=args.stop_notifications,
                     archive_dir=args.archive_dir)
    if args.command == "resume":
        return resume(aws, env, console, declared=declared_state.load(args.env, args.assembly))
    if args.command == "redrive":
        return redrive(aws, env, console, rate=args.rate, reason=args.reason,
                       dry_run=args.dry_run, sample=args.sample)
    if args.command == "purge":
        return purge(aws, env, console, queue=args.queue, archive_dir=args.archive_dir,
                     confirm_env=args.confirm_env)
    if args.command == "replay":
        return replay(aws, env, console, path=args.file, queue=args.queue)
    if args.command == "reconcile":
        search = Search(endpoint=args.search_endpoint or env[SEARCH_ENDPOINT],
                        index=env[SEARCH_INDEX], region=aws.region,
                        credentials=None if args.no_sign else aws.credentials(),
                        page_size=args.page_size)
        return reconcile(aws, env, console, search=search, apply=args.apply)
    if args.command == "test-alarm":
        return check_alarm_delivery(aws, env, console)
    raise AssertionError(args.command)
