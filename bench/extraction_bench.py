"""`make bench-extract`: how much of the expected text arrives, per format and language, and
what extraction costs (documents/s and MB/s per core, p99, peak RSS of an extraction process),
beside `pdftotext -enc UTF-8` (poppler, C) as the reference for PDFs.

    python bench/extraction_bench.py [--corpus DIR] [--real DIR [--real-only]] [--repeat N]

--corpus: a folder with manifest.json (tools/make_samples.py; built into a temporary folder
when not given). --real: a folder of real files without expected text: each file's reference is
what an independent extractor reads (pdftotext for PDFs, LibreOffice for Office and
OpenDocument, the stdlib's compat32 e-mail API for .eml, or a given expected text in
DIR/.reference/), and the share of its words that arrive is printed (bench/holdout.py builds
such a folder from real public files). Figures are printed, never asserted
(tests/worker/test_extraction.py asserts the shares), and merged into BENCH_RESULTS.json's
`extraction` (--results), from which `python -m tools.bench_docs` writes the docs' figures.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "worker_asset")]

from ingest_worker.extraction import Extraction  # noqa: E402
from ingest_worker.extraction.sandbox import ExtractorPool, SandboxSettings  # noqa: E402

_TOKEN = re.compile(r"[A-Za-z0-9]+|[^\sA-Za-z0-9\W]|[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3]")


def tokens(text: str) -> collections.Counter[str]:
    """Words for Latin script, single characters for Japanese, Chinese and Korean (which
    extractors may split or join differently at line ends)."""
    return collections.Counter(t.lower() for t in _TOKEN.findall(text or ""))


def share(expected: str, got: str, letters_only: bool = False) -> float:
    want = tokens(expected)
    if letters_only:  # numbers a renderer adds: page and slide numbers, date fields, axis ticks
        want = collections.Counter({t: n for t, n in want.items() if not t.isdigit()})
    if not want:
        return 1.0
    have = tokens(got)
    return sum(min(n, have[t]) for t, n in want.items()) / sum(want.values())


def run_corpus(pool: ExtractorPool, corpus: Path) -> list[dict[str, object]]:
    rows = []
    for item in json.loads((corpus / "manifest.json").read_text(encoding="utf-8")):
        path = corpus / str(item["file"])
        started = time.perf_counter()
        result: Extraction = pool.extract(str(path), str(item["file"]))
        rows.append({**item, "status": result.status, "seconds": time.perf_counter() - started,
                     "bytes": path.stat().st_size,
                     "share": share(str(item["expected"]), result.content or ""),
                     "exact": (result.content or "").strip() == str(item["expected"]).strip()
                     if item.get("exact") else None,
                     "encoding": result.encoding, "language": result.language})
    return rows


def pdftotext(path: Path) -> tuple[str, float]:
    started = time.perf_counter()
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                         timeout=120)
    return out.stdout.decode("utf-8", "replace"), time.perf_counter() - started


# Independent references for real files: LibreOffice (its own C++ filters) for Office and
# OpenDocument, pdftotext (poppler) for PDFs, the stdlib's older e-mail API for .eml.
_SOFFICE_TEXT = {".docx", ".docm", ".dotx", ".doc", ".odt", ".ott", ".rtf"}
_SOFFICE_SHEET = {".xlsx", ".xlsm", ".xltx", ".xls", ".ods", ".ots"}
_SOFFICE_SLIDES = {".pptx", ".pptm", ".ppsx", ".potx", ".ppt", ".odp", ".otp"}
# CSV export of every sheet (token 12 = -1: one file per sheet, LibreOffice 7.2+), UTF-8.
_CSV_ALL_SHEETS = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def _soffice(paths: list[Path], target: str, out: Path) -> None:
    """Convert a batch in one LibreOffice run (starting it costs seconds). Its own profile
    folder, so it neither needs nor touches a user's."""
    subprocess.run(["soffice", f"-env:UserInstallation=file://{out}/profile", "--headless",
                    "--convert-to", target, "--outdir", str(out), *map(str, paths)],
                   capture_output=True, timeout=60 + 10 * len(paths))


def _email_reference(path: Path) -> str:
    import email
    import email.policy
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)
    parts = [" ".join(f"{h}" for h in (msg.get("Subject"), msg.get("From")) if h)]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True) or b""
            charset = part.get_content_charset() or "us-ascii"
            try:
                parts.append(payload.decode(charset, "replace"))
            except LookupError:
                parts.append(payload.decode("latin-1"))
    return re.sub(r"<[^>]*>", " ", "\n".join(parts))


def references(folder: Path, paths: list[Path]) -> dict[Path, tuple[str, str]]:
    """path -> (reference text, which extractor), for the files an independent extractor
    reads. Given references (folder/.reference/<file>.txt, the expected text) come first."""
    out: dict[Path, tuple[str, str]] = {}
    batches: dict[tuple[Path, str], list[Path]] = collections.defaultdict(list)
    for path in paths:
        given = folder / ".reference" / (str(path.relative_to(folder)) + ".txt")
        suffix = path.suffix.lower()
        if given.exists():
            out[path] = (given.read_text(encoding="utf-8"), "given")
        elif suffix == ".pdf" and shutil.which("pdftotext"):
            out[path] = (pdftotext(path)[0], "pdftotext")
        elif suffix == ".eml":
            out[path] = (_email_reference(path), "email.compat32")
        elif shutil.which("soffice"):
            for group, target in ((_SOFFICE_TEXT, "txt:Text (encoded):UTF8"),
                                  (_SOFFICE_SHEET, _CSV_ALL_SHEETS), (_SOFFICE_SLIDES, "pdf")):
                if suffix in group:
                    batches[(path.parent, target)].append(path)
    for (_, target), batch in batches.items():
        with tempfile.TemporaryDirectory(prefix="soffice-ref-") as tmp:
            _soffice(batch, target, Path(tmp))
            # Each output belongs to the source with the longest matching name (a workbook's
            # sheets come out as <name>-<sheet>.csv).
            made: dict[Path, list[Path]] = collections.defaultdict(list)
            for p in sorted(Path(tmp).glob("*.*")):
                owners = [s for s in batch if p.stem == s.stem
                          or (p.suffix == ".csv" and p.stem.startswith(s.stem + "-"))]
                if owners:
                    made[max(owners, key=lambda s: len(s.stem))].append(p)
            for path, files in made.items():
                out[path] = ("\n".join(pdftotext(p)[0] if p.suffix == ".pdf"
                                       else p.read_text(encoding="utf-8", errors="replace")
                                       for p in files), "soffice " + target.split(":")[0])
    return out


def run_real(pool: ExtractorPool, folder: Path) -> list[dict[str, object]]:
    """Real files: each file's reference is what an independent extractor reads (references());
    `share` is the part of its words that arrive, `exact` whether a given reference matches."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "SOURCES.tsv"
                   and ".reference" not in p.relative_to(folder).parts)
    refs = references(folder, paths)
    rows = []
    for path in paths:
        started = time.perf_counter()
        result = pool.extract(str(path), path.name)
        seconds = time.perf_counter() - started
        row: dict[str, object] = {"file": str(path.relative_to(folder)),
                                  "format": path.suffix.lower().lstrip("."),
                                  "status": result.status, "seconds": seconds,
                                  "bytes": path.stat().st_size,
                                  "chars": len(result.content or ""),
                                  "encoding": result.encoding}
        if path in refs:
            ref, row["reference"] = refs[path]
            row["share"] = share(ref, result.content or "") if tokens(ref) else None
            row["share_letters"] = (share(ref, result.content or "", letters_only=True)
                                    if any(not t.isdigit() for t in tokens(ref)) else None)
            if row["reference"] == "given":
                row["exact"] = (result.content or "").strip() == ref.strip()
        if path.suffix.lower() == ".pdf" and shutil.which("pdftotext"):
            row["ref_seconds"] = pdftotext(path)[1]
        rows.append(row)
    return rows


def extraction_seconds(real: list[dict[str, object]]) -> dict[str, list[float]]:
    """Seconds per format of the files that gave text (the mix's extraction times)."""
    seconds: dict[str, list[float]] = collections.defaultdict(list)
    for r in real:
        if r["status"] in ("ok", "truncated"):
            seconds[str(r["format"])].append(float(r["seconds"]))  # type: ignore[arg-type]
    return seconds


def report_real(real: list[dict[str, object]], folder: Path) -> None:
    print(f"\nReal files in {folder}: {len(real)}")
    for r in real:
        extra = f" share={r['share']:.2f} ({r['reference']})" if r.get("share") is not None else ""
        if r.get("exact") is not None:
            extra += f" exact={r['exact']} encoding={r['encoding']}"
        print(f"  {r['file']}: {r['status']} {r['chars']} chars "
              f"{r['seconds'] * 1e3:.0f} ms{extra}")
    print("\nformat   files with text  >= 80 % of the reference's words   statuses")
    scored = [r for r in real if r.get("share") is not None]
    for fmt in sorted({str(r["format"]) for r in real}):
        mine = [r for r in real if r["format"] == fmt]
        text = [r for r in scored if r["format"] == fmt]
        good = sum(float(r["share"]) >= 0.8 for r in text)  # type: ignore[arg-type]
        statuses = collections.Counter(str(r["status"]) for r in mine)
        print(f"{fmt:8} {len(text):15} {good:15} "
              f"{' ' * 17}{', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}")
    good = sum(float(r["share"]) >= 0.8 for r in scored)  # type: ignore[arg-type]
    if scored:
        print(f"Files with text (the independent extractor reads words): {len(scored)}; with "
              f">= 80 % of its words: {good} = {good / len(scored):.1%}")
        lettered = [r for r in real if r.get("share_letters") is not None]
        good = sum(float(r["share_letters"]) >= 0.8 for r in lettered)  # type: ignore[arg-type]
        print(f"Not counting tokens that are only digits (page/slide numbers, date fields and "
              f"chart axis ticks a renderer adds): {good}/{len(lettered)} = "
              f"{good / max(1, len(lettered)):.1%}")
    given = [r for r in real if r.get("exact") is not None]
    if given:
        print(f"Files with a given expected text (CJK encodings): "
              f"{sum(bool(r['exact']) for r in given)}/{len(given)} exact")
    print(f"Files: {len(real)}, one extraction each; statuses: " + ", ".join(
        f"{k} {v}" for k, v in sorted(collections.Counter(str(r['status'])
                                                          for r in real).items())))
    for line in mix_figures(extraction_seconds(real)):
        print(f"Real files, {line}")
    pdf = [r for r in scored if r["format"] == "pdf"]
    if pdf:
        good = sum(float(r["share"]) >= 0.8 for r in pdf)  # type: ignore[arg-type]
        ours = sum(float(r["seconds"]) for r in pdf)  # type: ignore[arg-type]
        ref_s = sum(float(r["ref_seconds"]) for r in pdf)  # type: ignore[arg-type]
        print(f"PDFs with >= 80 % of pdftotext's words: {good}/{len(pdf)}; time "
              f"{ours:.2f} s vs pdftotext {ref_s:.2f} s ({ref_s / ours:.2f}x its speed)")


# The fleet-sizing mix (issue #20): 40 % PDF, 30 % Office (Word, Excel, PowerPoint alike),
# 30 % text.
MIX = (("pdf", 0.4, ("pdf",)), ("office", 0.3, ("docx", "xlsx", "pptx")), ("text", 0.3, ("txt",)))


def worker_cpu_ms_per_msg() -> tuple[float, str] | None:
    """The worker process's own CPU per message (SQS, S3, index; no extraction), measured by
    `make bench-aws-profile` into BENCH_RESULTS.json."""
    try:
        profile = json.loads((REPO / "BENCH_RESULTS.json").read_text())["aws_profile"]
        return (float(profile["worker_cpu_ms_per_msg"]),
                f"BENCH_RESULTS.json aws_profile, {profile['details'].get('measured_at', '?')}")
    except (OSError, KeyError, ValueError):
        return None


def mix_numbers(seconds: dict[str, list[float]], vcpus: int = 2) -> dict[str, object] | None:
    """Messages per second of one instance for the MIX: extraction runs in one sandboxed
    process per vCPU, the worker process needs its own CPU per message, so a CPU-bound instance
    does vcpus / (extraction + worker) seconds of CPU per message. None if a class is missing;
    without the worker's figure, only the extraction times."""
    means = {}
    for name, _, formats in MIX:
        got = [statistics.mean(seconds[f]) for f in formats if seconds.get(f)]
        if not got:
            return None
        means[name] = statistics.mean(got)
    total = sum(weight * means[name] for name, weight, _ in MIX)
    out: dict[str, object] = {"ms_per_doc": round(total * 1e3, 1),
                              **{f"{name}_ms": round(means[name] * 1e3, 1) for name in means}}
    worker = worker_cpu_ms_per_msg()
    if worker is not None:
        worker_s = worker[0] / 1e3
        # Two ceilings: all cores busy (extraction + the worker's own CPU per message), and
        # the worker process itself, whose Python runs on one core at a time (the GIL).
        all_cores = vcpus / (total + worker_s)
        one_core = 1 / worker_s
        out.update(vcpus=vcpus, worker_cpu_ms_per_msg=worker[0], worker_source=worker[1],
                   instance_msgs_per_s=round(min(all_cores, one_core)),
                   limited_by=("extraction and the worker sharing the CPU" if all_cores < one_core
                               else "the worker process's own core (GIL)"))
    return out


def mix_figures(seconds: dict[str, list[float]], vcpus: int = 2) -> list[str]:
    mix = mix_numbers(seconds, vcpus)
    if mix is None:
        return ["mix: a class of the mix has no file measured"]
    parts = ", ".join(f"{name} {mix[f'{name}_ms']} ms" for name, _, _ in MIX)
    lines = [f"mix 40 % PDF / 30 % Office / 30 % text: {mix['ms_per_doc']} ms per document in one "
             f"extraction process ({parts}) = {1e3 / float(mix['ms_per_doc']):.0f} documents/s "
             "per core"]
    if "instance_msgs_per_s" in mix:
        lines.append(f"one {vcpus}-vCPU instance: {mix['instance_msgs_per_s']} msg/s when "
                     f"CPU-bound = min({vcpus} / ({mix['ms_per_doc']} ms extraction + "
                     f"{mix['worker_cpu_ms_per_msg']:.1f} ms worker), 1 / "
                     f"{mix['worker_cpu_ms_per_msg']:.1f} ms) (worker CPU per message from "
                     f"{mix['worker_source']}); limited by {mix['limited_by']}")
    return lines


def _machine(what: str) -> str:
    return f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {what}"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def record(results: Path, update: dict[str, object], real_run: dict[str, object] | None = None,
           keep_real_runs: int = 3) -> None:
    """Merge this run's figures into BENCH_RESULTS.json's `extraction` (tools/bench_docs.py
    renders the docs from it), keeping the other benchmarks' results."""
    data = json.loads(results.read_text()) if results.exists() else {}
    section = {**data.get("extraction", {}), **update}
    if real_run is not None:
        section["real_runs"] = [*section.get("real_runs", []), real_run][-keep_real_runs:]
    data["extraction"] = section
    results.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {results} (extraction)")


def real_run_record(real: list[dict[str, object]], folder: Path) -> dict[str, object] | None:
    """The mix figures of one --real run, for BENCH_RESULTS.json (None if incomplete)."""
    mix = mix_numbers(extraction_seconds(real))
    if mix is None or "instance_msgs_per_s" not in mix:
        return None
    pdf = [int(r["bytes"]) for r in real if r["format"] == "pdf"]  # type: ignore[call-overload]
    corpus = f"{len(real)} real files in {folder.name}"
    if pdf:
        corpus += f", PDFs {statistics.mean(pdf) / 1e3:.0f} KB on average"
    return {"measured_at": _now(), "machine": _machine("one extraction process"),
            "command": "python bench/extraction_bench.py --real DIR", "corpus": corpus,
            **{k: mix[k] for k in ("ms_per_doc", "pdf_ms", "office_ms", "text_ms",
                                   "instance_msgs_per_s", "limited_by",
                                   "worker_cpu_ms_per_msg")}}


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--real", type=Path)
    parser.add_argument("--repeat", type=int, default=5, help="passes for the speed figures")
    parser.add_argument("--real-only", action="store_true",
                        help="only the real files of --real (no generated corpus, no speed)")
    parser.add_argument("--results", type=Path, default=REPO / "BENCH_RESULTS.json",
                        help="where the figures are merged (the docs are rendered from it)")
    args = parser.parse_args(argv)
    if args.real_only and not args.real:
        parser.error("--real-only needs --real DIR")
    pool = ExtractorPool(SandboxSettings(processes=1))
    tmp = None
    try:
        if args.real_only:
            real = run_real(pool, args.real)
            report_real(real, args.real)
            print(f"\nPeak RSS of an extraction process: {pool.peak_rss_kb / 1024:.0f} MiB; "
                  f"process restarts: {pool.restarts}")
            record(args.results, {}, real_run_record(real, args.real))
            return 0
        corpus = args.corpus
        if corpus is None:
            from tools.make_samples import build_corpus
            tmp = tempfile.mkdtemp(prefix="extract-corpus-")
            corpus = Path(tmp)
            build_corpus(corpus)
        rows = run_corpus(pool, corpus)
        print("Share of the expected text that arrives (generated corpus)")
        print(f"{'format':8} " + " ".join(f"{lang:>6}" for lang in ("ja", "ko", "en", "zh")))
        for fmt in sorted({str(r["format"]) for r in rows}):
            cells = []
            for lang in ("ja", "ko", "en", "zh"):
                got = [float(r["share"]) for r in rows  # type: ignore[arg-type]
                       if r["format"] == fmt and r["language"] == lang]
                cells.append(f"{min(got):6.2f}" if got else f"{'-':>6}")
            print(f"{fmt:8} " + " ".join(cells))
        bad = [r for r in rows if r["status"] != "ok" or r.get("exact") is False]
        for r in bad:
            print(f"  not as expected: {r['file']}: {r['status']} exact={r.get('exact')}")
        # Speed: the whole corpus, several passes, one extraction process (one core).
        times: dict[str, list[float]] = collections.defaultdict(list)
        sizes: dict[str, int] = collections.defaultdict(int)
        for _ in range(args.repeat):
            for r in run_corpus(pool, corpus):
                times[str(r["format"])].append(float(r["seconds"]))  # type: ignore[arg-type]
                sizes[str(r["format"])] += int(r["bytes"])  # type: ignore[arg-type]
        print("\nSpeed, one extraction process (sandbox round trip included)")
        print(f"{'format':8} {'docs/s':>8} {'MB/s':>7} {'p99 ms':>7}")
        summary = {}
        for fmt in sorted(times):
            total = sum(times[fmt])
            summary[fmt] = {"docs_per_s": len(times[fmt]) / total,
                            "mb_per_s": sizes[fmt] / total / 1e6, "p99_ms": p99(times[fmt]) * 1e3}
            print(f"{fmt:8} {summary[fmt]['docs_per_s']:8.1f} {summary[fmt]['mb_per_s']:7.2f} "
                  f"{summary[fmt]['p99_ms']:7.1f}")
        for line in mix_figures(times):
            print(line)
        update: dict[str, object] = {
            "measured_at": _now(),
            "machine": _machine("one extraction process, small generated files; sandbox "
                                "round trip included"),
            "command": "make bench-extract",
            "min_expected_text_share": round(min(float(r["share"]) for r in rows), 2),  # type: ignore[arg-type]
            "docs_per_s": {fmt: round(v["docs_per_s"]) for fmt, v in sorted(
                summary.items(), key=lambda item: -item[1]["docs_per_s"])},
            "pdftotext_docs_per_s": None,  # without pdftotext installed: no reference figure
        }
        mix = mix_numbers(times)
        if mix is not None and "instance_msgs_per_s" in mix:
            update["mix"] = {"measured_at": update["measured_at"], "machine": update["machine"],
                             "command": "make bench-extract",
                             "corpus": "generated one-page documents",
                             **{k: mix[k] for k in ("ms_per_doc", "pdf_ms", "office_ms", "text_ms",
                                                    "instance_msgs_per_s", "limited_by",
                                                    "worker_cpu_ms_per_msg")}}
        if shutil.which("pdftotext"):
            pdfs = [corpus / str(r["file"]) for r in rows if r["format"] == "pdf"]
            ref = [pdftotext(p)[1] for _ in range(args.repeat) for p in pdfs]
            ours = times["pdf"]
            print(f"pdftotext: {len(ref) / sum(ref):.1f} docs/s; PDFium in the sandbox "
                  f"{len(ours) / sum(ours):.1f} docs/s = "
                  f"{(len(ours) / sum(ours)) / (len(ref) / sum(ref)):.2f}x pdftotext")
            update["pdftotext_docs_per_s"] = round(len(ref) / sum(ref))
        real_run = None
        if args.real:
            real = run_real(pool, args.real)
            report_real(real, args.real)
            real_run = real_run_record(real, args.real)
        print(f"\nPeak RSS of an extraction process: {pool.peak_rss_kb / 1024:.0f} MiB; "
              f"process restarts: {pool.restarts}; cores: {os.cpu_count()}")
        update["peak_rss_mib"] = round(pool.peak_rss_kb / 1024)
        mean = statistics.mean(float(r["share"]) for r in rows)  # type: ignore[arg-type]
        print(f"Mean share over the generated corpus: {mean:.3f}")
        record(args.results, update, real_run)
    finally:
        pool.close()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
