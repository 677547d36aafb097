"""checkov, the third rule set: every failure on the synthesized templates is either fixed or
accepted in `checkov_baseline.json` with a reason. A failure not in the baseline fails, and so
does a baseline entry that no longer fails (a stale acceptance must not linger).

checkov itself is heavy (docs/ci.md), so it runs from its own virtualenv (`make checkov`); this
module only reads its JSON report (`checkov -o json`), so its logic is tested in `make test`
with recorded reports.

    python -m checks.checkov_baseline REPORT.json [--baseline checks/checkov_baseline.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

BASELINE_FILE = Path(__file__).with_name("checkov_baseline.json")
MIN_REASON_CHARS = 40
# cdk.out/assembly-<env>/<env><Stack><8 hex>.template.json: the artifact id CDK derives from
# the stack's path in the stage.
_TEMPLATE = re.compile(
    r"(?:^|/)assembly-(?P<env>[^/]+)/(?P=env)(?P<stack>[A-Za-z0-9]+?)[0-9A-F]{8}\.template\.json$")


@dataclass(frozen=True, order=True)
class Failure:
    """One failed check on one resource of one environment's stack."""

    check: str
    stack: str
    resource: str  # as checkov names it: <type>.<logical id>
    env: str

    def __str__(self) -> str:
        return f"{self.check} {self.env}/{self.stack} {self.resource}"


def failures(report: dict | list) -> set[Failure]:
    """The failed checks of a checkov JSON report (one framework's dict, or a list of them)."""
    found: set[Failure] = set()
    for framework in report if isinstance(report, list) else [report]:
        for result in framework.get("results", {}).get("failed_checks", []):
            match = _TEMPLATE.search(result["file_path"])
            if match is None:
                raise ValueError(f"checkov reported {result['check_id']} on {result['file_path']!r}, "
                                 "which is not a template of cdk.out/assembly-<env>/")
            found.add(Failure(result["check_id"], match["stack"], result["resource"], match["env"]))
    return found


def baseline_failures(entries: list[dict]) -> set[Failure]:
    """The accepted failures: each entry names a check, a stack, a resource, the environments
    where it fails, and why that is accepted."""
    accepted: set[Failure] = set()
    for number, entry in enumerate(entries, start=1):
        missing = {"check", "stack", "resource", "envs", "reason"} - set(entry)
        if missing:
            raise ValueError(f"baseline entry {number} lacks {', '.join(sorted(missing))}: {entry}")
        if len(entry["reason"].strip()) < MIN_REASON_CHARS:
            raise ValueError(f"baseline entry {number} ({entry['check']} {entry['resource']}): "
                             f"the reason must say why, in at least {MIN_REASON_CHARS} characters")
        for env in entry["envs"]:
            failure = Failure(entry["check"], entry["stack"], entry["resource"], env)
            if failure in accepted:
                raise ValueError(f"baseline entry {number}: {failure} is listed twice")
            accepted.add(failure)
    return accepted


def compare(found: set[Failure], accepted: set[Failure]) -> tuple[list[Failure], list[Failure]]:
    """(failures not in the baseline, baseline entries that no longer fail)."""
    return sorted(found - accepted), sorted(accepted - found)


# The fields of a failed check that the recorded report keeps (checkov's own report is ~400 KB).
RECORDED_FIELDS = ("check_id", "check_name", "check_result", "file_path", "resource", "file_line_range")


def recorded(report: dict) -> dict:
    """`report` as tests/infra/checkov_reports/ keeps it: summary and failed checks only."""
    return {"check_type": report["check_type"], "summary": report["summary"], "results": {
        "failed_checks": [
            {k: ({"result": c[k]["result"]} if k == "check_result" else c[k]) for k in RECORDED_FIELDS}
            for c in report["results"]["failed_checks"]]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="checkov's JSON report (-o json)")
    parser.add_argument("--baseline", type=Path, default=BASELINE_FILE)
    parser.add_argument("--record", type=Path, metavar="FILE",
                        help="also write the report's failed checks, trimmed to the fields this "
                             "check reads, to FILE (tests/infra/checkov_reports/, docs/ci.md)")
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text())
    if args.record:
        args.record.write_text(json.dumps(recorded(report), indent=1, ensure_ascii=False) + "\n")
    found = failures(report)
    new, stale = compare(found, baseline_failures(json.loads(args.baseline.read_text())))
    for failure in new:
        print(f"NEW checkov failure (fix it, or add it to {args.baseline} with a reason): {failure}")
    for failure in stale:
        print(f"STALE baseline entry (it passes now: remove it from {args.baseline}): {failure}")
    if new or stale:
        return 1
    print(f"checkov: {len(found)} failures, each accepted in {args.baseline.name} with a reason")
    return 0


if __name__ == "__main__":
    sys.exit(main())
