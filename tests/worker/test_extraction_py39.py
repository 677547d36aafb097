"""The bundled asset extracts under Python 3.9 (Amazon Linux 2023's python3) with nothing but
the asset and the standard library on sys.path: `-S` drops site-packages, so pypdfium2, xlrd
and striprtf can only come from worker_asset/vendor/ (tools/vendor_wheels.py)."""
from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path

import pytest

from tools import vendor_wheels
from tools.make_samples import build_corpus

REPO = Path(__file__).resolve().parents[2]
PY39 = REPO / ".venv" / "py39" / "bin" / "python"

SCRIPT = r"""
import json, sys
sys.path[:] = [p for p in sys.path if "site-packages" not in p] + [sys.argv[1]]
from ingest_worker.extraction.sandbox import ExtractorPool, SandboxSettings
import pypdfium2, xlrd, striprtf
pool = ExtractorPool(SandboxSettings(processes=1))
out = {"version": list(sys.version_info[:2]), "pdfium_from": pypdfium2.__file__}
for name in sys.argv[3:]:
    r = pool.extract(sys.argv[2] + "/" + name, name)
    out[name] = [r.status, r.content or ""]
pool.close()
print(json.dumps(out))
"""

FILES = ["ja-sample.pdf", "ko-sample.docx", "en-sample.xlsx", "ja-sample.pptx", "ko-sample.xls",
         "ja-sample.rtf", "ja-sample.odt", "ja-sample.eml", "ja-cp932.txt", "ko-euc_kr.txt"]


def test_the_asset_extracts_under_python_39_without_site_packages(tmp_path):
    if not PY39.exists():
        pytest.fail("no .venv/py39: run `make test-setup` (needs a python3.9 on this machine)")
    assert vendor_wheels.up_to_date(), "worker_asset/vendor is stale: run `make setup`"
    manifest = {m["file"]: m for m in build_corpus(tmp_path)}
    run = subprocess.run([str(PY39), "-S", "-c", SCRIPT, str(REPO / "worker_asset"),
                          str(tmp_path), *FILES], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["version"] == [3, 9]
    assert f"vendor/{platform.machine()}/pypdfium2" in out["pdfium_from"]
    for name in FILES:
        status, content = out[name]
        assert status == "ok", (name, status)
        for line in manifest[name]["expected"].splitlines()[1:4]:
            assert line in content.replace("\n", " ") or line in content, (name, line)
