"""The benchmark figures in the docs are generated from BENCH_RESULTS.json
(`python -m tools.bench_docs`, run by `make bench*`): no measured figure is typed by hand."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tools import bench_docs

REPO = bench_docs.REPO


def test_committed_figure_blocks_are_current():
    assert bench_docs.stale() == [], "run: python -m tools.bench_docs"


@pytest.fixture
def repo_copy(tmp_path):
    for path in {block.path for block in bench_docs.BLOCKS} | {"BENCH_RESULTS.json"}:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / path, tmp_path / path)
    return tmp_path


def test_a_new_measurement_makes_the_docs_stale_and_the_generator_fixes_them(repo_copy):
    """What a benchmark run without regeneration looks like: a new moto figure."""
    results_file = repo_copy / "BENCH_RESULTS.json"
    results = json.loads(results_file.read_text())
    results["worker_msgs_per_s"] = 99.9
    results["details"]["measured_at"] = "2030-01-02T03:04:05Z"
    results_file.write_text(json.dumps(results))
    assert bench_docs.stale(repo_copy, results_file) == ["worker_asset/README.md"]
    assert bench_docs.stale(repo_copy, results_file, write=True) == ["worker_asset/README.md"]
    assert bench_docs.stale(repo_copy, results_file) == []
    text = (repo_copy / "worker_asset" / "README.md").read_text()
    assert "| worker | 99.9 msg/s | >= 0.8 x raw loop: met (2.26 x) |" in text
    assert "Measured 2030-01-02 on" in text
    # Only the generated block changed.
    original = (REPO / "worker_asset" / "README.md").read_text()
    begin, end = next(b for b in bench_docs.BLOCKS if b.name == "bench:moto").markers()
    assert text.split(begin)[0] == original.split(begin)[0]
    assert text.split(end)[1] == original.split(end)[1]


def test_every_block_shows_the_date_of_its_measurement():
    results = json.loads((REPO / "BENCH_RESULTS.json").read_text())
    for block in bench_docs.BLOCKS:
        assert re.search(r"\b20\d\d-\d\d-\d\d\b", block.render(results)), block.name


def test_a_missing_marker_names_the_file(repo_copy):
    doc = repo_copy / "docs" / "extraction.md"
    doc.write_text(doc.read_text().replace("<!-- bench:extraction-speed:end -->", ""))
    with pytest.raises(ValueError, match="docs/extraction.md: expected the markers"):
        bench_docs.stale(repo_copy, repo_copy / "BENCH_RESULTS.json")
