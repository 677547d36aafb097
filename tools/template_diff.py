"""Offline, per-stack diff of the app's templates against another git ref, and the stateful gate.

    python -m tools.template_diff --base HEAD~1            # what `make diff BASE=HEAD~1` runs
    python -m tools.template_diff --base origin/main --head-assembly cdk.out \\
        --markdown diff.md --text diff.txt [--allow-stateful-changes]   # CI

The base is synthesized in a temporary `git worktree` with this checkout's .venv and
node_modules; the head is the working tree (synthesized into a temporary directory unless
--head-assembly names an existing cloud assembly). Needs no AWS credentials: stacks are
environment-agnostic and nothing is looked up.

Exit status: 0 fine; 1 a stateful resource would be replaced or deleted and
--allow-stateful-changes was not given; 2 the diff could not be made (bad ref, synthesis failed).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from contract.assembly import StackTemplate, read_stacks, validation_summary
from contract.synth import REPO, SynthError, cdk_synth, synth_command
from tools.cost import cost_section
from tools.differ import StackDiff, diff_stack
from tools.render import render_markdown, render_text

# Linked into the base worktree so its cdk.json (`.venv/bin/python app.py`) finds them.
SHARED_TOOLCHAIN = (".venv", "node_modules")
EXIT_OK, EXIT_STATEFUL, EXIT_ERROR = 0, 1, 2


class DiffError(RuntimeError):
    """The diff cannot be produced (bad ref, synthesis failure); the message says why."""


def compare(base: dict[str, StackTemplate], head: dict[str, StackTemplate]) -> list[StackDiff]:
    """One StackDiff per stack in either assembly, matched by CloudFormation stack name."""
    diffs = []
    for stack_name in sorted(base.keys() | head.keys(),
                             key=lambda n: (head.get(n) or base[n]).display_name):
        old, new = base.get(stack_name), head.get(stack_name)
        shown = new or old
        assert shown is not None
        diffs.append(diff_stack(
            shown.display_name, stack_name,
            old.template if old else None, new.template if new else None,
            new.acknowledged_findings if new else 0,
        ))
    return diffs


def synthesize(source_dir: Path, out_dir: Path) -> None:
    """`cdk synth` every stage of the app in `source_dir` into `out_dir` (validation included)."""
    print(f"+ (cd {source_dir} && {' '.join(synth_command(out_dir))})", file=sys.stderr, flush=True)
    try:
        cdk_synth(out_dir, cwd=source_dir)
    except SynthError as error:
        raise DiffError(str(error)) from None


@contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """A detached worktree of `ref` in a temporary directory, removed afterwards (also on error)."""
    commit = _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if not commit:
        raise DiffError(f"unknown git ref {ref!r}")
    tmp = Path(tempfile.mkdtemp(prefix="cdk-diff-base-"))
    tree = tmp / "src"
    try:
        _git("worktree", "add", "--detach", "--quiet", str(tree), commit)
        for name in SHARED_TOOLCHAIN:
            if (REPO / name).exists() and not (tree / name).exists():
                (tree / name).symlink_to(REPO / name)
        yield tree
    finally:
        _git("worktree", "remove", "--force", str(tree), check=False)
        _git("worktree", "prune", check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def base_stacks(ref: str, scratch: Path) -> dict[str, StackTemplate]:
    """The stacks of `ref`'s app; none when `ref` predates the CDK app (every stack is new)."""
    with worktree(ref) as tree:
        if not (tree / "cdk.json").is_file() or not (tree / "app.py").is_file():
            print(f"note: {ref} has no CDK app (cdk.json/app.py): every stack is new",
                  file=sys.stderr)
            return {}
        out = scratch / "base.out"
        synthesize(tree, out)
        return read_stacks(out)


def _git(*args: str, check: bool = True) -> str:
    result = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise DiffError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip() if result.returncode == 0 else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    base = parser.add_mutually_exclusive_group(required=True)
    base.add_argument("--base", metavar="REF", help="git ref to compare with (synthesized in a worktree)")
    base.add_argument("--base-assembly", type=Path, metavar="DIR",
                      help="an already synthesized cloud assembly to compare with")
    parser.add_argument("--head-assembly", type=Path, metavar="DIR",
                        help="use this cloud assembly for the working tree instead of synthesizing it")
    parser.add_argument("--allow-stateful-changes", action="store_true",
                        help="report, but do not fail on, replaced or deleted stateful resources")
    parser.add_argument("--markdown", type=Path, metavar="FILE",
                        help="also write the PR-comment Markdown here")
    parser.add_argument("--text", type=Path, metavar="FILE", help="also write the plain text here")
    parser.add_argument("--base-label", help="name of the base in the Markdown (default: the ref)")
    parser.add_argument("--head-label", default="this change", help="name of the head in the Markdown")
    args = parser.parse_args(argv)

    try:
        with tempfile.TemporaryDirectory(prefix="cdk-diff-") as scratch:
            if args.base_assembly:
                old = read_stacks(args.base_assembly)
            else:
                old = base_stacks(args.base, Path(scratch))
            head_dir = args.head_assembly
            if head_dir is None:
                head_dir = Path(scratch) / "head.out"
                synthesize(REPO, head_dir)
            new = read_stacks(head_dir)
            nag_passed, nag_messages = validation_summary(head_dir)
    except (DiffError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR

    diffs = compare(old, new)
    cost = cost_section(old, new)
    text = render_text(diffs, allow_stateful=args.allow_stateful_changes, cost=cost)
    print(text, end="")
    if args.text:
        args.text.write_text(text)
    if args.markdown:
        args.markdown.write_text(render_markdown(
            diffs, allow_stateful=args.allow_stateful_changes,
            base_label=args.base_label or args.base or str(args.base_assembly),
            head_label=args.head_label, nag_passed=nag_passed, nag_messages=nag_messages,
            cost=cost,
        ))
    blocked = any(d.destructive for d in diffs) and not args.allow_stateful_changes
    return EXIT_STATEFUL if blocked else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
