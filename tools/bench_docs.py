"""Write the benchmark figures of the docs from BENCH_RESULTS.json.

Each figure block sits between `<!-- bench:<name>:begin ... -->` and `<!-- bench:<name>:end -->`;
the text around it is written by hand and holds no measured figure. `make bench-moto`,
`make bench-aws-profile` and `make bench-extract` rewrite the blocks after they run;
tests/bench/test_bench_docs.py fails when a block differs from what BENCH_RESULTS.json renders.
Measurements no command writes are kept, with their date, under `recorded` in the file.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from tools.doc_blocks import Block, stale_files
from tools.doc_blocks import main as doc_main

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "BENCH_RESULTS.json"
GENERATOR = "python -m tools.bench_docs"


def _wrap(text: str) -> str:
    """A paragraph at the docs' line width (never breaking inside a word or a `code` span's
    hyphenated name)."""
    return textwrap.fill(text, width=99, break_long_words=False, break_on_hyphens=False)


def _row(*cells: str) -> str:
    return "|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|"


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _date(measured_at: str) -> str:
    return measured_at.split("T", 1)[0]


def moto(results: dict[str, Any]) -> str:
    d, t = results["details"], results["targets_met"]
    worker, raw, naive = (results[k] for k in ("worker_msgs_per_s", "raw_loop_msgs_per_s",
                                               "naive_msgs_per_s"))
    rows = [
        ("worker", f"{worker} msg/s",
         f">= 0.8 x raw loop: {_met(t['worker >= 0.8 x raw_loop'])} ({worker / raw:.2f} x)"),
        ("raw loop (API ceiling on moto)", f"{raw} msg/s", ""),
        ("naive", f"{naive} msg/s",
         f"worker >= 4 x naive: {_met(t['worker >= 4 x naive'])} ({worker / naive:.2f} x)"),
        ("SQS calls per message", f"{results['sqs_calls_per_msg']}",
         f"<= 0.25: {_met(t['sqs_calls_per_msg <= 0.25'])}"),
        ("index requests per message", f"{results['index_requests_per_msg']}",
         f"<= 0.15: {_met(t['index_requests_per_msg <= 0.15'])}"),
        ("worker peak RSS", f"{results['peak_rss_mb']} MB",
         f"<= 150 MB: {_met(t['peak_rss_mb <= 150'])}"),
    ]
    return "\n".join([
        _wrap(f"Measured {_date(d['measured_at'])} on {d['machine']}, one run of `make "
              f"bench-moto` ({d['messages_per_contender']:,} messages per contender, "
              f"{d['rounds']} rounds of {d['round_size']}, worker concurrency "
              f"{d['worker_concurrency']}):"), "",
        "| metric | value | target |", "| --- | --- | --- |",
        *(_row(*row) for row in rows)])


def aws_profile(results: dict[str, Any]) -> str:
    r = results["aws_profile"]
    d, t, w = r["details"], r["targets_met"], r["details"]["worker"]
    ceiling = d["cpu_bound_ceiling_msgs_per_s"]
    rows = [
        ("worker", f"{r['worker_msgs_per_s']} msg/s",
         f">= 30 x naive: {_met(t['worker >= 30 x naive'])} ({d['worker_over_naive']:.1f} x)"),
        ("raw loop (batched, one thread)", f"{r['raw_loop_msgs_per_s']} msg/s", ""),
        ("naive", f"{r['naive_msgs_per_s']} msg/s", ""),
        ("worker CPU per message",
         f"{r['worker_cpu_ms_per_msg']:.2f} ms (CPU-bound ceiling 1000 / "
         f"{r['worker_cpu_ms_per_msg']:.2f} = {ceiling:.0f} msg/s)",
         f"worker >= 0.6 x ceiling: {_met(next(v for k, v in t.items() if 'ceiling' in k))} "
         f"({d['worker_over_ceiling']:.2f} x)"),
        (f"upload to indexed at {w['latency']['offered_msgs_per_s']:g} msg/s",
         f"p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms",
         f"p99 <= 1 s: {_met(t['p99_ms <= 1000 at half load'])}"),
        ("worker peak RSS", f"{r['peak_rss_mb']} MB", f"<= 150 MB: {_met(t['peak_rss_mb <= 150'])}"),
        ("stand-in + fake CPU per message (the benchmark's own process, same cores)",
         f"{w['bench_process_cpu_ms_per_msg']} ms", ""),
    ]
    return "\n".join([
        _wrap(f"Measured {_date(d['measured_at'])} on {d['cpu_count']} cores (Python "
              f"{d['python']}; load average {d['load_average_1m']:g}), one run of `make "
              f"bench-aws-profile`; the worker's core was {w['cpu_busy_percent_of_one_core']:g} % "
              f"busy, the machine {w['machine_cpu_busy_percent']:g} %:"), "",
        "| metric | value | target (issue 10) |", "| --- | --- | --- |",
        *(_row(*row) for row in rows)])


def worker_concurrency(results: dict[str, Any]) -> str:
    r = results["recorded"]["worker_concurrency"]
    lines = [_wrap(f"Measured {r['measured_at']} on {r['machine']} ({r['command']}):"), "",
             "| `WORKER_CONCURRENCY` | msg/s | CPU ms per msg | share of one core | "
             "p50 / p99 at half load | peak RSS |", "| --- | --- | --- | --- | --- | --- |"]
    for row in r["rows"]:
        bold = "**" if row["concurrency"] == 32 else ""
        name = f"{row['concurrency']} ({row['note']})" if row["note"] else f"{row['concurrency']}"
        lines.append(f"| {bold}{name}{bold} | {bold}{row['msgs_per_s']}{bold} | "
                     f"{row['cpu_ms_per_msg']:.2f} | {row['core_percent']} % | "
                     f"{row['p50_ms']} / {row['p99_ms']} ms | {row['peak_rss_mb']} MB |")
    default = next(row for row in r["rows"] if row["concurrency"] == 32)
    ceiling = 1000 / default["cpu_ms_per_msg"]
    lines += ["", _wrap(
        f"With the defaults one process reaches {default['msgs_per_s'] / ceiling:.1f} x its "
        f"CPU-bound ceiling (1000 / {default['cpu_ms_per_msg']:.2f} ms = {ceiling:.0f} msg/s); "
        "more threads only add CPU per message. Calls per message at that rate: "
        f"{r['default_sqs_calls_per_msg']} SQS, {r['default_index_requests_per_msg']} index "
        "requests, one S3 read.")]
    return "\n".join(lines)


def extraction_mix(results: dict[str, Any]) -> str:
    r = results["extraction"]
    runs = [r["mix"], *r["real_runs"]]
    lines = [_wrap("For a 40 % PDF / 30 % Office / 30 % text mix, one row per run, each with "
                   "the worker's CPU per message from `make bench-aws-profile` at the time:"), "",
             "| corpus (command) | measured | extraction per document (PDF / Office / text) | "
             "worker CPU per message | one 2-vCPU instance | limited by |",
             "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {run['corpus']} (`{run['command']}`) | {_date(run['measured_at'])}, "
              f"{run['machine']} | {run['ms_per_doc']} ms ({run['pdf_ms']} / {run['office_ms']}"
              f" / {run['text_ms']}) | {run['worker_cpu_ms_per_msg']:.2f} ms | "
              f"{run['instance_msgs_per_s']} msg/s | {run['limited_by']} |" for run in runs]
    return "\n".join(lines)


def extraction_speed(results: dict[str, Any]) -> str:
    r = results["extraction"]
    speeds = ", ".join(f"{fmt} {n}" for fmt, n in r["docs_per_s"].items())
    reference = ("" if r.get("pdftotext_docs_per_s") is None else
                 f"; pdftotext {r['pdftotext_docs_per_s']} docs/s on the same PDFs (a process "
                 "per file dominates at this size)")
    return _wrap(f"Measured {_date(r['measured_at'])} ({r['machine']}; `{r['command']}`): every "
                 f"format and language at least {r['min_expected_text_share']:.2f} of the "
                 f"expected text; docs/s: {speeds}{reference}. Peak RSS per extraction process "
                 f"{r['peak_rss_mib']} MiB.")


def checkov_cost(results: dict[str, Any]) -> str:
    r = results["recorded"]["checkov"]
    minutes, seconds = divmod(r["install_seconds"], 60)
    return _wrap(f"Measured {r['measured_at']} on {r['machine']}: installing checkov "
                 f"{r['version']} took {minutes} min {seconds} s and {r['install_mb']} MB "
                 f"({r['install_packages']} packages), and a run over the three environments' "
                 f"{r['templates']} templates takes about {r['run_seconds_approx']} s wall clock "
                 f"on top of a synthesis, against the suite's ≤ {r['suite_budget_seconds']} s "
                 "budget (#17).")


def coverage_subprocess(results: dict[str, Any]) -> str:
    r = results["recorded"]["coverage_subprocess"]
    return _wrap(f"Measured {r['measured_at']} on {r['machine']} ({r['tests']}): "
                 f"{r['with_subprocess_seconds']} s with the subprocesses measured against "
                 f"{r['pytest_only_seconds']} s without ({r['cpu_increase_percent']} % more CPU; "
                 f"without coverage {r['no_coverage_seconds']} s), for "
                 f"{r['with_subprocess_percent'] - r['pytest_only_percent']} points of coverage "
                 f"({r['with_subprocess_percent']} % against {r['pytest_only_percent']} %).")


BLOCKS = tuple(Block(path, f"bench:{name}", render, GENERATOR, "BENCH_RESULTS.json")
               for path, name, render in (
                   ("worker_asset/README.md", "worker-concurrency", worker_concurrency),
                   ("worker_asset/README.md", "extraction-mix", extraction_mix),
                   ("worker_asset/README.md", "moto", moto),
                   ("worker_asset/README.md", "aws-profile", aws_profile),
                   ("docs/extraction.md", "extraction-speed", extraction_speed),
                   ("docs/ci.md", "checkov-cost", checkov_cost),
                   ("docs/ci.md", "coverage-subprocess", coverage_subprocess)))


def stale(repo: Path = REPO, results_file: Path = RESULTS, *, write: bool = False) -> list[str]:
    """The files whose figure blocks differ from BENCH_RESULTS.json (rewritten if `write`)."""
    results = json.loads(results_file.read_text())
    return stale_files(repo, BLOCKS, results, write=write)


def main(argv: list[str] | None = None) -> int:
    return doc_main(argv, GENERATOR, __doc__.splitlines()[0], stale)


if __name__ == "__main__":
    sys.exit(main())
