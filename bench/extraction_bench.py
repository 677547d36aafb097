"""`make bench-extract`: how much of the expected text arrives, per format and language, and
what extraction costs (documents/s and MB/s per core, p99, peak RSS of an extraction process),
beside `pdftotext -enc UTF-8` (poppler, C) as the reference for PDFs.

    python bench/extraction_bench.py [--corpus DIR] [--real DIR] [--repeat N]

--corpus: a folder with manifest.json (tools/make_samples.py; built into a temporary folder
when not given). --real: a folder of real files without expected text: each file's reference is
what an independent extractor reads (pdftotext for PDFs), and the share of its words that
arrive is printed. Figures are printed, never asserted (tests/worker/test_extraction_corpus.py
asserts the shares).
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


def share(expected: str, got: str) -> float:
    want = tokens(expected)
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


def run_real(pool: ExtractorPool, folder: Path) -> list[dict[str, object]]:
    """Real files: the reference is pdftotext for PDFs; other formats are reported by status."""
    rows = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        started = time.perf_counter()
        result = pool.extract(str(path), path.name)
        seconds = time.perf_counter() - started
        row: dict[str, object] = {"file": str(path.relative_to(folder)),
                                  "format": path.suffix.lower().lstrip("."),
                                  "status": result.status, "seconds": seconds,
                                  "bytes": path.stat().st_size,
                                  "chars": len(result.content or "")}
        if path.suffix.lower() == ".pdf" and shutil.which("pdftotext"):
            ref, ref_seconds = pdftotext(path)
            row["ref_seconds"] = ref_seconds
            row["share"] = share(ref, result.content or "") if tokens(ref) else None
        rows.append(row)
    return rows


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--real", type=Path)
    parser.add_argument("--repeat", type=int, default=5, help="passes for the speed figures")
    args = parser.parse_args(argv)
    pool = ExtractorPool(SandboxSettings(processes=1))
    tmp = None
    try:
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
        if shutil.which("pdftotext"):
            pdfs = [corpus / str(r["file"]) for r in rows if r["format"] == "pdf"]
            ref = [pdftotext(p)[1] for _ in range(args.repeat) for p in pdfs]
            ours = times["pdf"]
            print(f"pdftotext: {len(ref) / sum(ref):.1f} docs/s; PDFium in the sandbox "
                  f"{len(ours) / sum(ours):.1f} docs/s = "
                  f"{(len(ours) / sum(ours)) / (len(ref) / sum(ref)):.2f}x pdftotext")
        if args.real:
            real = run_real(pool, args.real)
            print(f"\nReal files in {args.real}: {len(real)}")
            for r in real:
                extra = f" share={r['share']:.2f}" if r.get("share") is not None else ""
                print(f"  {r['file']}: {r['status']} {r['chars']} chars "
                      f"{r['seconds'] * 1e3:.0f} ms{extra}")
            pdf = [r for r in real if r.get("share") is not None]
            if pdf:
                good = sum(float(r["share"]) >= 0.8 for r in pdf)  # type: ignore[arg-type]
                ours = sum(float(r["seconds"]) for r in pdf)  # type: ignore[arg-type]
                ref_s = sum(float(r["ref_seconds"]) for r in pdf)  # type: ignore[arg-type]
                print(f"PDFs with >= 80 % of pdftotext's words: {good}/{len(pdf)}; time "
                      f"{ours:.2f} s vs pdftotext {ref_s:.2f} s ({ref_s / ours:.2f}x its speed)")
        print(f"\nPeak RSS of an extraction process: {pool.peak_rss_kb / 1024:.0f} MiB; "
              f"process restarts: {pool.restarts}; cores: {os.cpu_count()}")
        mean = statistics.mean(float(r["share"]) for r in rows)  # type: ignore[arg-type]
        print(f"Mean share over the generated corpus: {mean:.3f}")
    finally:
        pool.close()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
