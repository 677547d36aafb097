"""bench/extraction_bench.py's results file: merged, not overwritten, and rendered by
tools/bench_docs.py (the run itself is a benchmark: `make bench-extract`)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.extraction_bench import MIX, mix_figures, mix_numbers, real_run_record, record
from tools import bench_docs


def test_record_keeps_the_other_results_and_the_last_three_real_runs(tmp_path):
    results = tmp_path / "BENCH_RESULTS.json"
    results.write_text(json.dumps({"aws_profile": {"kept": True},
                                   "extraction": {"peak_rss_mib": 66, "real_runs": [1, 2, 3]}}))
    record(results, {"peak_rss_mib": 60}, real_run={"run": 4})
    data = json.loads(results.read_text())
    assert data["aws_profile"] == {"kept": True}
    assert data["extraction"] == {"peak_rss_mib": 60, "real_runs": [2, 3, {"run": 4}]}


def test_a_real_run_renders_as_a_row_of_the_extraction_mix():
    seconds = {fmt: [0.002] for _, _, formats in MIX for fmt in formats}
    real = [{"format": fmt, "status": "ok", "seconds": 0.01, "bytes": 200_000}
            for fmt in seconds]
    run = real_run_record(real, Path("/corpus/holdout"))
    assert run is not None and run["corpus"] == "5 real files in holdout, PDFs 200 KB on average"
    assert run["ms_per_doc"] == 10.0
    committed = json.loads(bench_docs.RESULTS.read_text())
    committed["extraction"]["real_runs"] = [run]
    row = bench_docs.extraction_mix(committed).splitlines()[-1]
    assert row.startswith("| 5 real files in holdout, PDFs 200 KB on average "
                          "(`python bench/extraction_bench.py --real DIR`) |")
    assert f"| {run['instance_msgs_per_s']} msg/s |" in row
    # The printed figures and the recorded ones are the same numbers.
    assert f"{mix_numbers(seconds)['ms_per_doc']} ms per document" in mix_figures(seconds)[0]


def test_a_mix_with_a_class_missing_records_nothing():
    assert mix_numbers({"pdf": [0.01], "txt": [0.001]}) is None
    assert mix_figures({"pdf": [0.01]}) == ["mix: a class of the mix has no file measured"]
